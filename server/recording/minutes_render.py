"""Minutes as Markdown or as a standalone HTML page (Japanese headings by default).

Both renderers share one layout (:func:`_layout`: sections of paragraphs and tables of
plain text) and differ only in how they write it out and escape it. All user text (names,
titles, captions, opinions, poll options) is escaped: in Markdown the characters that would
open a link, an HTML tag or emphasis, or break a table row (``|``, newlines); in HTML every
``<``, ``>``, ``&`` and quote. The HTML page loads nothing from anywhere (inline CSS, a
Content-Security-Policy that forbids scripts) and reflows on a phone.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moderation.committee import ChangeReason
from server.recording.minutes_types import Minutes

#: Labels of the document (a generator's own words, not the web page's i18n catalogues).
LABELS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "議事録", "meeting": "会議", "room": "会場", "date": "開催日",
        "start": "開始", "end": "終了", "duration": "所要時間", "recording": "記録",
        "recovered": "（サーバー停止から復旧した記録です）",
        "attendance": "出席者", "name": "氏名", "joined": "入室", "left": "退室",
        "at_start": "開始時在室", "until_end": "終了まで在室", "citizens_count": "市民の参加者",
        "people": "名", "agenda": "議事", "item": "議題", "planned": "予定", "overran": "超過",
        "timeline": "発言の記録", "speaker": "発言者", "role": "役割", "from": "開始",
        "to": "終了", "seconds": "時間", "voiced": "音声", "source": "種別",
        "floor": "発言権", "voice": "音声のみ", "speaking": "発言時間",
        "turns": "発言回数", "floor_time": "発言権の時間", "voiced_time": "音声で確認した発言時間",
        "captions": "字幕", "time": "時刻", "text": "内容", "corrected": "訂正後",
        "polls": "投票結果", "option": "選択肢", "votes": "票数", "voters": "投票者数",
        "closed_at": "締切", "still_open": "記録終了時に受付中", "opinions": "意見",
        "category": "分類", "supports": "賛同", "status": "状況", "response": "回答",
        "author": "投稿者", "hidden": "非表示", "questions": "質問", "answer": "回答",
        "moderation": "運営上の措置（職員用）", "actor": "実施者", "action": "操作",
        "target": "対象", "reason": "理由", "details": "詳細", "none": "なし",
        "edition_public": "公開版", "edition_staff": "職員用（非公開）",
        "generated": "この議事録は会議の記録から自動で作成しました。",
        "yes": "はい",
        "closed_session": "秘密会", "closed_note": "（この間の議事は非公開）",
        "closed_staff_note": "（職員限りの記録。公開しない）",
        "closed_until_end": "記録終了まで",
        "committee": "委員会の議事", "c_attendance": "出席状況と本人確認",
        "c_status": "出欠", "c_changes": "経過", "c_verified": "本人確認",
        "c_quorum_opening": "開会時の定足数", "c_quorum_changes": "定足数の変化",
        "c_present": "出席（確認済み）", "c_needed": "定足数", "c_seats": "定数",
        "c_met": "充足", "c_lost": "不足", "c_motion": "議案", "c_amends": "修正案（対象）",
        "c_outcome": "結果", "c_recusals": "除斥", "c_vote": "表決", "c_method": "方法",
        "c_quorum_at": "表決時の定足数", "c_totals": "集計", "c_by_name": "氏名別",
        "c_result": "賛否", "c_chair": "委員長裁決", "c_void": "無効",
        "c_closed": "秘密会", "c_gallery": "傍聴者", "c_peak": "最大", "c_total": "延べ",
        "c_open_now": "記録終了時も継続", "c_decided_at": "議決",
        "c_asked": "カメラ確認の求め", "c_camera": "カメラ",
        "c_camera_rule": "本人確認カメラ必須の表決", "c_on_camera": "あり", "c_off_camera": "なし",
        "transcript": "発言", "t_auto": "自動文字起こし（未校正）", "t_corrected": "校正済み",
        "t_inaudible": "（聴取不能）", "t_none": "（文字起こしなし）",
        "t_note": "「自動文字起こし（未校正）」の発言は音声認識による下書きで、職員の校正前です。",
        "t_outside": "発言権の外",
    },
    "en": {
        "title": "Minutes", "meeting": "Meeting", "room": "Room", "date": "Date",
        "start": "Start", "end": "End", "duration": "Duration", "recording": "Recording",
        "recovered": "(recovered after the server stopped)",
        "attendance": "Attendance", "name": "Name", "joined": "Joined", "left": "Left",
        "at_start": "present at start", "until_end": "until the end",
        "citizens_count": "Citizens taking part", "people": "", "agenda": "Agenda",
        "item": "Item", "planned": "Planned", "overran": "overran",
        "timeline": "Speaker timeline", "speaker": "Speaker", "role": "Role", "from": "From",
        "to": "To", "seconds": "Length", "voiced": "Voice", "source": "Kind",
        "floor": "floor", "voice": "voice only", "speaking": "Speaking time",
        "turns": "Turns", "floor_time": "Time holding the floor",
        "voiced_time": "Speech heard in the audio",
        "captions": "Captions", "time": "Time", "text": "Text", "corrected": "Corrected",
        "polls": "Poll results", "option": "Option", "votes": "Votes", "voters": "Voters",
        "closed_at": "Closed", "still_open": "still open when the recording ended",
        "opinions": "Opinions", "category": "Category", "supports": "Supports",
        "status": "Status", "response": "Response", "author": "Author", "hidden": "Hidden",
        "questions": "Questions", "answer": "Answer",
        "moderation": "Moderation actions (staff only)", "actor": "By", "action": "Action",
        "target": "Target", "reason": "Reason", "details": "Details", "none": "None",
        "edition_public": "Public edition", "edition_staff": "Staff edition (not public)",
        "generated": "These minutes were generated from the meeting's recording.",
        "yes": "yes",
        "closed_session": "Closed session", "closed_note": "(not public)",
        "closed_staff_note": "(staff-only record, never published)",
        "closed_until_end": "until the end of the recording",
        "committee": "Committee proceedings", "c_attendance": "Attendance and identity checks",
        "c_status": "Attendance", "c_changes": "Changes", "c_verified": "Identity check",
        "c_quorum_opening": "Quorum at the opening", "c_quorum_changes": "Quorum changes",
        "c_present": "present (checked)", "c_needed": "needed", "c_seats": "seats",
        "c_met": "met", "c_lost": "lost", "c_motion": "Motion", "c_amends": "Amendment of",
        "c_outcome": "Outcome", "c_recusals": "Recused", "c_vote": "Vote",
        "c_method": "Method", "c_quorum_at": "Quorum at the vote", "c_totals": "Totals",
        "c_by_name": "By name", "c_result": "Vote", "c_chair": "decided by the chair",
        "c_void": "void", "c_closed": "Closed sessions", "c_gallery": "Public gallery",
        "c_peak": "peak", "c_total": "total", "c_open_now": "still closed at the end",
        "c_decided_at": "Decided",
        "c_asked": "camera requested", "c_camera": "Camera",
        "c_camera_rule": "votes required the identity camera", "c_on_camera": "on",
        "c_off_camera": "off",
        "transcript": "Statements", "t_auto": "automatic transcript (not corrected)",
        "t_corrected": "corrected", "t_inaudible": "(inaudible)", "t_none": "(no transcript)",
        "t_note": "Lines marked \"automatic transcript (not corrected)\" are a speech "
                  "recognition draft that staff have not corrected yet.",
        "t_outside": "outside the floor",
    },
}
ROLES: dict[str, dict[str, str]] = {
    "ja": {"chair": "議長", "member": "委員", "staff": "事務局", "captioner": "要約筆記",
           "observer": "傍聴・報道", "citizen": "市民"},
    "en": {"chair": "Chair", "member": "Members", "staff": "Staff", "captioner": "Captioners",
           "observer": "Observers and press", "citizen": "Citizens"},
}
#: One person's role, for table cells (the group headings above are plural in English).
ROLE_NAMES: dict[str, dict[str, str]] = {
    "ja": ROLES["ja"],
    "en": {"chair": "chair", "member": "member", "staff": "staff", "captioner": "captioner",
           "observer": "observer", "citizen": "citizen"},
}
STATUSES: dict[str, dict[str, str]] = {
    "ja": {"submitted": "受付", "under_review": "検討中", "adopted": "採用",
           "partly_adopted": "一部採用", "not_adopted": "不採用", "noted": "参考",
           "merged": "統合", "open": "未回答", "answered": "回答済み", "dismissed": "見送り"},
    "en": {"submitted": "submitted", "under_review": "under review", "adopted": "adopted",
           "partly_adopted": "partly adopted", "not_adopted": "not adopted", "noted": "noted",
           "merged": "merged", "open": "open", "answered": "answered",
           "dismissed": "dismissed"},
}


#: The committee's words (statuses, methods, results, outcomes) per language.
COMMITTEE_WORDS: dict[str, dict[str, str]] = {
    "ja": {"unknown": "未確認", "present": "出席", "late": "遅参", "left": "早退",
           "disconnected": "接続断", "absent": "欠席", "hands": "挙手", "standing": "起立",
           "named": "記名投票", "assent": "簡易表決", "yes": "賛成", "no": "反対",
           "abstain": "棄権", "recused": "除斥", "object": "異議あり", "none": "異議なし",
           "passed": "可決", "rejected": "否決", "objected": "異議あり（再表決）",
           "adopted": "原案可決", "adopted_amended": "修正可決", "tie": "可否同数",
           "open": "表決中", "closed": "終了", "void": "無効", "video": "映像",
           "other": "その他", "chair": "委員長", "member": "委員"},
    "en": {"unknown": "unknown", "present": "present", "late": "late", "left": "left early",
           "disconnected": "disconnected", "absent": "absent", "hands": "show of hands",
           "standing": "standing", "named": "named ballot", "assent": "simple assent",
           "yes": "yes", "no": "no", "abstain": "abstain", "recused": "recused",
           "object": "objection", "none": "no objection", "passed": "passed",
           "rejected": "rejected", "objected": "objected (taken again)",
           "adopted": "adopted", "adopted_amended": "adopted as amended", "tie": "tie",
           "open": "open", "closed": "closed", "void": "void", "video": "video",
           "other": "other", "chair": "chair", "member": "member"},
}

#: Why the procedure itself changed a member's attendance (moderation.committee's codes),
#: in words; a correction's reason is shown as its author wrote it.
CHANGE_REASONS: dict[str, dict[str, str]] = {
    "ja": {ChangeReason.ANSWERED: "点呼に応答", ChangeReason.ARRIVED: "点呼終了後に入室",
           ChangeReason.RETURNED: "再入室", ChangeReason.NO_ANSWER: "点呼に応答なし",
           ChangeReason.CONNECTION_LOST: "接続が切れたまま猶予時間を経過"},
    "en": {ChangeReason.ANSWERED: "answered the roll call",
           ChangeReason.ARRIVED: "arrived after the roll call",
           ChangeReason.RETURNED: "came back",
           ChangeReason.NO_ANSWER: "did not answer the roll call",
           ChangeReason.CONNECTION_LOST: "connection lost beyond the grace period"},
}


@dataclass(frozen=True, slots=True)
class _Table:
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class _Section:
    heading: str
    #: Paragraphs (``str``), tables, and sub-headings (``("h", text)``), in order.
    blocks: list[str | _Table | tuple[str, str]]


def _lang(lang: str) -> str:
    return lang if lang in LABELS else "ja"


def _time(t: datetime | None) -> str:
    return "" if t is None else t.strftime("%H:%M:%S")


def _zone(t: datetime) -> str:
    """The zone of the minutes' times as a reader can check it: ``JST, UTC+09:00``."""
    # "+09:00" (isoformat's own spelling, minutes included); without the microseconds,
    # which isoformat puts before the offset when a recording started mid-second.
    offset = t.replace(microsecond=0).isoformat()[19:]
    if offset in ("", "+00:00"):
        return "UTC"
    name = t.strftime("%Z")
    utc = f"UTC{offset}"
    return utc if not name or name == utc or name.startswith(("+", "-")) else f"{name}, {utc}"


def _duration(seconds: float, lang: str) -> str:
    s = max(0, round(seconds))
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    if lang == "ja":
        return (f"{h}時間{m:02d}分{sec:02d}秒" if h else f"{m}分{sec:02d}秒" if m
                else f"{sec}秒")
    return f"{h} h {m:02d} min {sec:02d} s" if h else f"{m} min {sec:02d} s" if m else f"{sec} s"


def _layout(m: Minutes, lang: str) -> tuple[str, list[str], list[_Section]]:
    """The document's title, its opening lines, and its sections, as plain text."""
    lb, roles, statuses = LABELS[lang], ROLES[lang], STATUSES[lang]

    def group(r: str) -> str:
        return roles.get(r, r)

    def role(r: str) -> str:
        return ROLE_NAMES[lang].get(r, r)

    def status(s: str) -> str:
        return statuses.get(s, s)

    def dur(s: float | None) -> str:
        return "" if s is None else _duration(s, lang)

    # Tables without a role column (the staff edition's authors, actors and targets) name
    # a member, the chair or staff with their role too, so that a citizen who took such a
    # name is not read as them (issue 14, finding 6); a name held under two roles is left
    # as it is, as the record cannot tell which one acted.
    roles_of: dict[str, set[str]] = {}
    for a in m.attendance:
        roles_of.setdefault(a.name, set()).add(a.role)

    def named(name: str) -> str:
        held = roles_of.get(name, set())
        if len(held) != 1 or (r := next(iter(held))) in ("citizen", ""):
            return name
        return f"{name}（{role(r)}）" if lang == "ja" else f"{name} ({role(r)})"

    end = _time(m.ended) if m.ended.date() == m.started.date() else (
        f"{m.ended.date().isoformat()} {_time(m.ended)}")
    head = [
        f"{lb['meeting']}: {m.title}", f"{lb['room']}: {m.room}",
        f"{lb['date']}: {m.started.date().isoformat()}",
        f"{lb['start']}: {_time(m.started)}  {lb['end']}: {end}  "
        f"({_zone(m.started)})",
        f"{lb['duration']}: {_duration(m.seconds, lang)}",
        f"{lb['recording']}: {m.recording_id}"
        + (f" {lb['recovered']}" if m.recovered else ""),
        lb["edition_staff"] if m.staff else lb["edition_public"],
    ]
    # A closed session (秘密会) is said to have been, from when to when: nothing of it is in
    # the record, so the reader must not take the gap for a quiet room.
    head += [f"{lb['closed_session']} {s:%H:%M}–"
             + (f"{e:%H:%M}" if e is not None else lb["closed_until_end"])
             + f" {lb['closed_staff_note' if m.staff_record else 'closed_note']}"
             for s, e in m.closed]
    sections: list[_Section] = []

    attendance: list[str | _Table | tuple[str, str]] = []
    groups: dict[str, list[tuple[str, ...]]] = {}
    for a in m.attendance:
        groups.setdefault(a.role, []).append((
            a.name, _time(a.joined) + (f" ({lb['at_start']})" if a.present_at_start else ""),
            _time(a.left) if a.left is not None else lb["until_end"]))
    for r, rows in groups.items():
        attendance += [("h", f"{group(r)} ({len(rows)})"),
                       _Table((lb["name"], lb["joined"], lb["left"]), rows)]
    if not m.staff:
        attendance.append(f"{lb['citizens_count']}: {m.citizens}{lb['people']}")
    sections.append(_Section(lb["attendance"], attendance or [lb["none"]]))

    sections.append(_Section(lb["agenda"], [_Table(
        (lb["item"], lb["start"], lb["seconds"], lb["planned"]),
        [(a.title + (f" ({lb['overran']})" if a.overran else ""), _time(a.start),
          dur(a.seconds), dur(a.planned) if a.planned else "") for a in m.agenda])]))

    sections.append(_Section(lb["timeline"], [_Table(
        (lb["from"], lb["to"], lb["speaker"], lb["role"], lb["seconds"], lb["voiced"],
         lb["source"]),
        [(_time(t.start), _time(t.end), t.name, role(t.role), dur(t.seconds), dur(t.voiced),
          lb.get(t.source, t.source)) for t in m.timeline])]))
    sections.append(_Section(lb["speaking"], [_Table(
        (lb["speaker"], lb["role"], lb["turns"], lb["floor_time"], lb["voiced_time"]),
        [(s.name, role(s.role), str(s.turns), dur(s.floor_seconds), dur(s.voiced_seconds))
         for s in m.speaking])]))

    if m.transcript is not None:
        sections.append(_transcript_section(m, lang))

    sections.append(_Section(lb["captions"], [_Table(
        (lb["time"], lb["text"], lb["corrected"]),
        [(_time(c.at), c.text, c.corrected or "") for c in m.captions])]))

    polls: list[str | _Table | tuple[str, str]] = []
    for p in m.polls:
        closed = (f"{lb['closed_at']}: {_time(p.closed)}" if p.closed is not None
                  else lb["still_open"])
        polls += [("h", p.question), f"{lb['voters']}: {p.voters}  {closed}",
                  _Table((lb["option"], lb["votes"]),
                         [(o, str(c)) for o, c in zip(p.options, p.counts, strict=False)])]
    sections.append(_Section(lb["polls"], polls or [lb["none"]]))

    staff_cols = (lb["author"], lb["hidden"]) if m.staff else ()
    sections.append(_Section(lb["opinions"], [_Table(
        (lb["time"], lb["category"], lb["text"], lb["supports"], lb["status"], lb["response"],
         *staff_cols),
        [(_time(o.at), o.category, o.text, str(o.supports), status(o.status), o.response,
          *((named(o.author), lb["yes"] if o.hidden else "") if m.staff else ()))
         for o in m.opinions])]))
    sections.append(_Section(lb["questions"], [_Table(
        (lb["time"], lb["text"], lb["votes"], lb["status"], lb["answer"],
         *((lb["author"],) if m.staff else ())),
        [(_time(q.at), q.text, str(q.votes), status(q.status), q.answer,
          *((named(q.author),) if m.staff else ())) for q in m.questions])]))

    if m.committee is not None:
        sections.append(_committee_section(m.committee, m.staff, lang))

    if m.moderation is not None:
        sections.append(_Section(lb["moderation"], [_Table(
            (lb["time"], lb["actor"], lb["action"], lb["target"], lb["reason"], lb["details"]),
            [(_time(x.at), named(x.actor), x.action, named(x.target), x.reason, x.details)
             for x in m.moderation])]))
    return f"{lb['title']}: {m.title}", head, sections


def _transcript_section(m: Minutes, lang: str) -> _Section:
    """発言: each floor turn (and speech outside turns) with speaker, role and time, then
    its transcript lines; the engine's text is marked as a draft until staff correct it,
    an inaudible passage is shown as such."""
    lb = LABELS[lang]
    assert m.transcript is not None
    blocks: list[str | _Table | tuple[str, str]] = []
    if any(x.status == "auto" for u in m.transcript for x in u.lines):
        blocks.append(lb["t_note"])
    for u in m.transcript:
        who = ROLE_NAMES[lang].get(u.role, u.role)
        where = "" if u.turn is not None else f" [{lb['t_outside']}]"
        named = f"{u.name}（{who}）" if lang == "ja" else f"{u.name} ({who})"
        blocks.append(("h", f"{_time(u.start)}–{_time(u.end)} {named}{where}"))
        if not u.lines:
            blocks.append(lb["t_none"])
            continue
        blocks.append(_Table((lb["time"], lb["text"], lb["status"]), [
            (_time(x.at),
             lb["t_inaudible"] if x.status == "inaudible" else x.text,
             lb["t_auto"] if x.status == "auto" else
             lb["t_corrected"] if x.status == "corrected" else "")
            for x in u.lines]))
    return _Section(lb["transcript"], blocks or [lb["none"]])


def _committee_section(c: dict[str, Any], staff: bool, lang: str) -> _Section:
    """The committee's proceedings: attendance with identity checks, quorum, motions with
    their votes by name, recusals, closed sessions, the gallery. The public edition leaves
    out who made a check and why a session was closed."""
    lb, w = LABELS[lang], COMMITTEE_WORDS[lang]

    def word(x: object) -> str:
        return w.get(str(x), str(x)) if x is not None else ""

    def why(reason: object) -> str:
        return CHANGE_REASONS[lang].get(str(reason), str(reason))

    def q(x: dict[str, Any] | None) -> str:
        if not x:
            return ""
        return (f"{lb['c_present']} {x['present']} / {lb['c_needed']} {x['needed']} / "
                f"{lb['c_seats']} {x['seats']}")

    def checker(v: dict[str, Any]) -> str:
        # Who checked: the chair by name, staff as 事務局 (their login only for staff).
        r = str(v.get("by_role", ""))
        role = w.get(r) if r in ("chair", "member") else ROLE_NAMES[lang].get(r, r)
        name = str(v.get("by_name", ""))
        who = f"{name}（{role}）" if name and lang == "ja" else (
            f"{name} ({role})" if name else str(role or ""))
        return f"確認者 {who}" if lang == "ja" else f"by {who}"

    blocks: list[str | _Table | tuple[str, str]] = [("h", lb["c_attendance"])]
    rows: list[tuple[str, ...]] = []
    for a in c.get("attendance", []):
        changes = "; ".join(f"{_time(x['at'])} {word(x['status'])}"
                            + (f"（{why(x['reason'])}）" if staff and x.get("reason") else "")
                            for x in a.get("changes", []))
        checks = "; ".join(f"{_time(v['at'])} {word(v['method'])}"
                           + (f"（{v['reason']}）" if v.get("reason") else "")
                           + f" {checker(v)}"
                           for v in a.get("verifications", []))
        asked = "; ".join(f"{_time(r['at'])} {lb['c_asked']}"
                          + (f"（{r['by_name']}）" if r.get("by_name") else "")
                          for r in a.get("camera_requests", []))
        checks = "; ".join(x for x in (checks, asked) if x)
        rows.append((a["name"], word(a["role"]), word(a["status"]), changes, checks))
    blocks.append(_Table((lb["name"], lb["role"], lb["c_status"], lb["c_changes"],
                          lb["c_verified"]), rows))
    opening = c.get("quorum_at_opening")
    blocks.append(f"{lb['c_quorum_opening']}: "
                  + (f"{_time(opening['at'])} {q(opening)}" if opening else lb["none"]))
    blocks.append(("h", lb["c_quorum_changes"]))
    blocks.append(_Table((lb["time"], lb["status"], lb["c_present"], lb["c_needed"],
                          lb["c_seats"]),
                         [(_time(x["at"]), lb["c_met"] if x["met"] else lb["c_lost"],
                           str(x["present"]), str(x["needed"]), str(x["seats"]))
                          for x in c.get("quorum_changes", [])]))
    for mo in c.get("motions", []):
        title = mo["title"] + (f"（{lb['c_amends']} #{mo['amends']}）" if mo.get("amends")
                               else "")
        blocks.append(("h", f"{lb['c_motion']} #{mo['id']}: {title}"))
        blocks.append(f"{lb['c_outcome']}: {word(mo.get('outcome')) or '—'}"
                      + (f"  {lb['c_decided_at']}: {_time(mo['decided_at'])}"
                         if mo.get("decided_at") else ""))
        recused = ", ".join(r["name"] + (f"（{r['reason']}）" if r.get("reason") else "")
                            for r in mo.get("recusals", []) if r.get("lifted_at") is None)
        if recused:
            blocks.append(f"{lb['c_recusals']}: {recused}")
        for v in mo.get("votes", []):
            t = v["totals"]
            outcome = word(v.get("outcome") or v.get("state"))
            if v.get("chair_decided"):
                outcome += f"（{lb['c_chair']}）"
            if v.get("state") == "void":
                outcome = f"{lb['c_void']}（{v.get('void_reason', '')}）"
            blocks.append(
                f"{lb['c_vote']} #{v['id']} {word(v['method'])} {_time(v['opened_at'])}"
                f"–{_time(v.get('closed_at'))}: {outcome}. {lb['c_quorum_at']}: "
                f"{q(v.get('quorum') or v.get('quorum_open'))}. {lb['c_totals']}: "
                + (f"{word('object')} {t['objections']}" if v["method"] == "assent" else
                   f"{word('yes')} {t['yes']} / {word('no')} {t['no']} / "
                   f"{word('abstain')} {t['abstain']} ({lb['voters']} {t['voters']})"))
            if v.get("by_name") and v.get("camera_required"):
                # The committee voted on camera: each ballot says whether it was.
                blocks.append(lb["c_camera_rule"])
                blocks.append(_Table((lb["name"], lb["c_result"], lb["c_camera"]), [
                    (x["name"], word(x["result"]),
                     "" if x.get("camera") is None else
                     lb["c_on_camera"] if x["camera"] else lb["c_off_camera"])
                    for x in v["by_name"]]))
            elif v.get("by_name"):
                blocks.append(_Table((lb["name"], lb["c_result"]),
                                     [(x["name"], word(x["result"])) for x in v["by_name"]]))
    closed = c.get("closed_sessions", [])
    blocks.append(("h", lb["c_closed"]))
    blocks.append(_Table(
        (lb["from"], lb["to"], lb["seconds"], *((lb["reason"],) if staff else ())),
        [(_time(x["start"]), _time(x["end"]) if x.get("end") else lb["c_open_now"],
          _duration((x["end"] - x["start"]).total_seconds(), lang) if x.get("end") else "",
          *((x.get("reason", ""),) if staff else ())) for x in closed]))
    g = c.get("gallery", {})
    blocks.append(f"{lb['c_gallery']}: {lb['c_peak']} {g.get('peak', 0)}{lb['people']} / "
                  f"{lb['c_total']} {g.get('total', 0)}{lb['people']}")
    return _Section(lb["committee"], blocks)


# -- Markdown ---------------------------------------------------------------------------

#: Characters that start Markdown syntax (emphasis, links, HTML, code, tables, entities).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|&#!~])")
_NEWLINES = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")


def md_escape(text: str) -> str:
    """``text`` safe as Markdown inline text and in a table cell: one line, its syntax
    characters backslash-escaped (so ``<script>`` is shown, not run, and ``|`` does not
    split a cell)."""
    return _MD_SPECIAL.sub(r"\\\1", _NEWLINES.sub(" ", text))


def render_markdown(m: Minutes, lang: str = "ja") -> str:
    """The minutes as Markdown (CommonMark with GFM tables)."""
    lang = _lang(lang)
    title, head, sections = _layout(m, lang)
    out = [f"# {md_escape(title)}", ""]
    out += [f"- {md_escape(line)}" for line in head] + [""]
    for section in sections:
        out += [f"## {md_escape(section.heading)}", ""]
        for block in section.blocks:
            if isinstance(block, _Table):
                out += _md_table(block, LABELS[lang]["none"])
            elif isinstance(block, tuple):
                out += [f"### {md_escape(block[1])}", ""]
            else:
                out += [md_escape(block), ""]
    out += [f"*{md_escape(LABELS[lang]['generated'])}*", ""]
    return "\n".join(out)


def _md_table(table: _Table, none: str) -> list[str]:
    if not table.rows:
        return [md_escape(none), ""]
    lines = ["| " + " | ".join(md_escape(h) for h in table.headers) + " |",
             "|" + "---|" * len(table.headers)]
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in table.rows]
    return [*lines, ""]


# -- HTML -------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;
margin:0 auto;padding:1rem;max-width:60rem;line-height:1.6;color:#1a1a1a;background:#fff}
h1{font-size:1.5rem;border-bottom:2px solid #333;padding-bottom:.3rem}
h2{font-size:1.2rem;margin-top:2rem;border-left:4px solid #2a6;padding-left:.5rem}
h3{font-size:1rem;margin-bottom:.3rem}
ul.head{list-style:none;padding:0}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
.scroll:focus-visible{outline:3px solid #175;outline-offset:2px}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top;min-width:3em;
overflow-wrap:break-word}
th{background:#eef3ef}
footer{margin-top:2rem;font-size:.85rem;color:#555}
@media print{h2{break-after:avoid}.scroll{overflow:visible}}
"""


def _h(text: str) -> str:
    return html.escape(text, quote=True).replace("\r\n", "<br>").replace("\n", "<br>")


def render_html(m: Minutes, lang: str = "ja") -> str:
    """The minutes as one standalone HTML document (no scripts, no external resources)."""
    lang = _lang(lang)
    title, head, sections = _layout(m, lang)
    out = [
        "<!DOCTYPE html>", f'<html lang="{lang}">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # A downloaded page opened from disk: nothing may run or be fetched.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';'
        ' style-src \'unsafe-inline\'">',
        f"<title>{_h(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>", "<main>",
        f"<h1>{_h(title)}</h1>", '<ul class="head">',
        *[f"<li>{_h(line)}</li>" for line in head], "</ul>",
    ]
    for section in sections:
        out += ["<section>", f"<h2>{_h(section.heading)}</h2>"]
        for block in section.blocks:
            if isinstance(block, _Table):
                out += _html_table(block, LABELS[lang]["none"], section.heading)
            elif isinstance(block, tuple):
                out.append(f"<h3>{_h(block[1])}</h3>")
            else:
                out.append(f"<p>{_h(block)}</p>")
        out.append("</section>")
    out += ["</main>", f"<footer>{_h(LABELS[lang]['generated'])}</footer>", "</body>",
            "</html>", ""]
    return "\n".join(out)


def _html_table(table: _Table, none: str, heading: str) -> list[str]:
    if not table.rows:
        return [f"<p>{_h(none)}</p>"]
    # A wide table scrolls sideways on a phone: its box takes the keyboard focus (named by
    # the section's heading) so that arrow keys scroll it, as a finger does (WCAG 2.1.1).
    out = [f'<div class="scroll" tabindex="0" role="region" aria-label="{_h(heading)}"><table>',
           "<thead><tr>"
           + "".join(f'<th scope="col">{_h(h)}</th>' for h in table.headers) + "</tr></thead>",
           "<tbody>"]
    out += ["<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>" for row in table.rows]
    return [*out, "</tbody></table></div>"]
