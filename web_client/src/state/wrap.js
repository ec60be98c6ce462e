/**
 * Line wrapping for canvas text that mixes Japanese and Latin script: Latin words break
 * at spaces, CJK text between any two characters, and closing punctuation never starts a
 * line (simple kinsoku). `measure(str)` returns a width in the caller's units.
 */

const CJK = /[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]/;
const NO_LINE_START = /^[、。，．！？）」』】〕・ー…,.!?)\]}:;]/;

/** Split text into unbreakable tokens (a token keeps its trailing space). */
export function tokenize(text) {
  const tokens = [];
  let cur = '';
  for (const ch of String(text)) {
    if (ch === ' ') {
      cur += ch;
      tokens.push(cur);
      cur = '';
    } else if (CJK.test(ch)) {
      if (cur) tokens.push(cur);
      cur = '';
      if (NO_LINE_START.test(ch) && tokens.length) tokens[tokens.length - 1] += ch;
      else tokens.push(ch);
    } else if (NO_LINE_START.test(ch) && !cur && tokens.length && !tokens[tokens.length - 1].endsWith(' ')) {
      tokens[tokens.length - 1] += ch;
    } else {
      cur += ch;
    }
  }
  if (cur) tokens.push(cur);
  return tokens;
}

/** Wrap `text` (newlines respected) to lines no wider than maxWidth; at most maxLines. */
export function wrapText(text, maxWidth, measure, maxLines = Infinity) {
  const lines = [];
  for (const para of String(text ?? '').split(/\r?\n/)) {
    let line = '';
    for (let tok of tokenize(para)) {
      if (measure(line + tok.trimEnd()) <= maxWidth) {
        line += tok;
        continue;
      }
      if (line) lines.push(line.trimEnd());
      line = '';
      // a single token wider than the line is cut by characters
      while (measure(tok.trimEnd()) > maxWidth && [...tok].length > 1) {
        const chars = [...tok];
        let n = chars.length - 1;
        while (n > 1 && measure(chars.slice(0, n).join('')) > maxWidth) n--;
        lines.push(chars.slice(0, n).join(''));
        tok = chars.slice(n).join('');
      }
      line = tok;
    }
    lines.push(line.trimEnd());
  }
  if (lines.length > maxLines) {
    const cut = lines.slice(0, maxLines);
    cut[maxLines - 1] = cut[maxLines - 1].replace(/.$/u, '') + '…';
    return cut;
  }
  return lines;
}
