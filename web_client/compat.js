/*
 * Can this browser run the client? (issue 20) A classic script, written in ES5 and loaded
 * by every page before its modules, so that it runs where they cannot: a browser without
 * ES modules skips them silently, and one older than the build's target (Vite's baseline:
 * Safari/iOS 16.4, Chrome 111, Firefox 114) cannot parse them, and either way the page
 * would stay a blank form. If something the client needs is missing it says so in the
 * four languages at once (the catalogues are loaded by the modules, which cannot run)
 * and hides the rest of the page; `window.hirobaUnsupported` lists what is missing (null
 * when nothing is), for the tests and for modules that do run.
 *
 * The texts are copies of the catalogues' `compat.title` and `compat.body`
 * (web_client/i18n/*.json), cross-checked by web_client/test/compat.test.js. No inline
 * script and no eval: the page's Content-Security-Policy allows neither.
 */
(function () {
  'use strict';
  var TEXTS = {
    ja: ['このブラウザーではひろばを使えません', 'このブラウザーは古いか、ひろばに必要な機能({missing})がありません。iPhone・iPad は iOS 16.4 以降に、Android は Chrome を最新版に更新するか、最新の Chrome、Edge、Firefox、Safari で開いてください。'],
    en: ['Hiroba cannot run in this browser', 'This browser is too old or lacks what Hiroba needs ({missing}). Update an iPhone or iPad to iOS 16.4 or later, update Chrome on Android, or open this page in a current Chrome, Edge, Firefox or Safari.'],
    zh: ['此浏览器无法使用 Hiroba', '此浏览器版本过旧,或缺少 Hiroba 所需的功能({missing})。请将 iPhone 或 iPad 更新到 iOS 16.4 或更高版本,在 Android 上将 Chrome 更新到最新版本,或使用最新版的 Chrome、Edge、Firefox 或 Safari 打开此页面。'],
    ko: ['이 브라우저에서는 Hiroba를 사용할 수 없습니다', '이 브라우저는 너무 오래되었거나 Hiroba에 필요한 기능({missing})이 없습니다. iPhone·iPad는 iOS 16.4 이상으로, Android는 Chrome을 최신 버전으로 업데이트하거나 최신 Chrome, Edge, Firefox, Safari에서 이 페이지를 열어 주세요.']
  };
  // Feature names are technical terms, left untranslated (what a helper would search for).
  var missing = [];
  var script = document.createElement('script');
  if (!('noModule' in script)) missing.push('ES modules');
  // Import maps came with Safari 16.4, the build's oldest Safari: a browser without them
  // is older than the code it would have to parse.
  var Script = window.HTMLScriptElement;
  if (!(Script && Script.supports && Script.supports('importmap'))) missing.push('import maps');
  if (typeof window.WebSocket !== 'function') missing.push('WebSocket');
  if (typeof window.Promise !== 'function' || typeof window.fetch !== 'function') missing.push('fetch');
  window.hirobaUnsupported = missing.length ? missing.slice() : null;
  if (!missing.length) return;
  // (WebGL is not required: without it the page says that 3D is unavailable and the
  // meeting, its voices and captions still work.)

  document.documentElement.className += ' hiroba-unsupported';
  function show() {
    if (document.getElementById('compat')) return;
    // Styled through the CSSOM (allowed by the CSP, unlike style attributes in markup):
    // the page's own stylesheets may not even have loaded.
    var kids = document.body.children;
    for (var k = 0; k < kids.length; k++) kids[k].style.display = 'none';
    var box = document.createElement('section');
    box.id = 'compat';
    box.setAttribute('role', 'alert');
    box.style.maxWidth = '40rem';
    box.style.margin = '0 auto';
    box.style.padding = '1rem';
    box.style.fontSize = '1.125rem';
    box.style.lineHeight = '1.6';
    var order = ['ja', 'en', 'zh', 'ko'];
    var first = (document.documentElement.getAttribute('lang') || 'ja').slice(0, 2);
    if (first !== 'ja' && TEXTS[first]) order = [first].concat(order.filter(function (l) { return l !== first; }));
    for (var i = 0; i < order.length; i++) {
      var t = TEXTS[order[i]];
      var part = document.createElement('div');
      part.setAttribute('lang', order[i]);
      var h = document.createElement(i === 0 ? 'h1' : 'h2');
      h.style.fontSize = i === 0 ? '1.5rem' : '1.25rem';
      h.appendChild(document.createTextNode(t[0]));
      var p = document.createElement('p');
      p.appendChild(document.createTextNode(t[1].replace('{missing}', missing.join(', '))));
      part.appendChild(h);
      part.appendChild(p);
      box.appendChild(part);
    }
    document.body.insertBefore(box, document.body.firstChild);
  }
  if (document.body) show();
  else document.addEventListener('DOMContentLoaded', show);
})();
