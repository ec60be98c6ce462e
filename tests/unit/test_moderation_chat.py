"""Chat: the NG-word filter across variants, rate limit, reports, hide and restore."""

from __future__ import annotations

import pytest

from moderation.chat import Chat, ChatHidden, ReportResolved, ReportState
from moderation.limits import CHAT_MAX, clean_text
from moderation.wordfilter import (
    DEFAULT_LIST_DIR,
    DEFAULT_LIST_FILES,
    WordFilter,
    fold,
    parse_word_list,
)
from rooms.errors import HirobaError, Reason


def default_filter() -> WordFilter:
    words: list[str] = []
    for name in DEFAULT_LIST_FILES:
        words += parse_word_list((DEFAULT_LIST_DIR / name).read_text(encoding="utf-8"))
    return WordFilter(words)


WORDS = default_filter()


def test_default_lists_load() -> None:
    assert len(WORDS) >= 30
    assert parse_word_list("# c\n\n a  # note\nb\n") == ("a", "b")


def test_fold() -> None:
    assert fold("ＡＢＣ ｼﾈ ﾊﾞｶ カタカナ") == "abc しね ばか かたかな"


@pytest.mark.parametrize(
    "text",
    [
        "お前死ね", "しね", "シネよ", "ｼﾈ", "し　ね", "し.ね", "ｷﾓｲんだけど", "キモい",
        "ﾊﾞｶﾔﾛｳ", "バカヤロウ！", "殺すぞ", "ぶっころすぞ",
        "fuck", "FUCK you", "Ｆｕｃｋ", "f u c k", "f.u.c.k", "fucking", "sh1t", "$hit",
        "bullshit", "you are a retard", "kill yourself", "f\u200buck",
    ],
)
def test_ng_words_are_caught_across_variants(text: str) -> None:
    assert WORDS.find(text), text


@pytest.mark.parametrize(
    "text",
    [
        "むかしね、この公園は池だった", "わたしね、賛成です", "殺菌灯の設置", "きえる前に",
        "class assessment", "Scunthorpe", "shiitake", "This hit the mark", "fire retardant",
        "skill yourself up", "a b c", "Hello, I think the park needs more benches.",
        "駐輪場を増やしてほしい", "外人観光客向けの案内", "バス停の屋根",
    ],
)
def test_ordinary_text_passes(text: str) -> None:
    assert WORDS.allows(text), (text, WORDS.find(text))


def test_entries_control_boundaries() -> None:
    f = WordFilter(["ab", "cd*", "*ef", "*gh*"])
    assert f.find("ab x") == ("ab",) and not f.find("xab") and not f.find("abx")
    assert f.find("cdx") and not f.find("xcd")
    assert f.find("xef") and not f.find("efx")
    assert f.find("xghx")


def test_clean_text() -> None:
    assert clean_text(" a\u202e\u200bb \t c\n\n\n\nd ", 100, "t") == "ab c d"
    assert clean_text("a\r\n\r\n\r\n\r\nb  \n c", 100, "t", multiline=True) == "a\n\nb\nc"
    assert clean_text("a\n \n\u3000\n \nb", 100, "t", multiline=True) == "a\n\nb"
    for bad, reason in ((None, Reason.BAD_FIELD), ("\u200b ", Reason.BAD_FIELD),
                        ("x" * 11, Reason.TOO_LONG), ("x" * 1000, Reason.TOO_LONG)):
        with pytest.raises(HirobaError) as err:
            clean_text(bad, 10, "t")
        assert err.value.reason is reason


def chat() -> Chat:
    return Chat("r", WORDS)


def test_post_is_cleaned_and_filtered() -> None:
    c = chat()
    event = c.post("p1", "さくら", "citizen", "  <b>こんにちは</b>  ", 0)
    assert event.message.text == "<b>こんにちは</b>"  # plain text: the client escapes it
    with pytest.raises(HirobaError) as err:
        c.post("p1", "さくら", "citizen", "しね", 1)
    assert err.value.reason is Reason.NG_WORD
    with pytest.raises(HirobaError) as err:
        c.post("p1", "さくら", "citizen", "x" * (CHAT_MAX + 1), 1)
    assert err.value.reason is Reason.TOO_LONG
    assert [m.id for m in c.messages()] == [1]


def test_rate_limit_holds_per_person() -> None:
    c = chat()
    results = []
    for i in range(20):
        try:
            c.post("p1", "a", "citizen", f"m{i}", now=0.01 * i)
            results.append(True)
        except HirobaError as exc:
            assert exc.reason is Reason.RATE_LIMITED
            results.append(False)
    assert results.count(True) == 5
    c.post("p2", "b", "citizen", "others are not affected", 0.2)
    c.post("p1", "a", "citizen", "later", 10)


def test_reports_hide_restore() -> None:
    c = chat()
    c.post("p1", "a", "citizen", "hello", 0)
    with pytest.raises(HirobaError) as err:
        c.report("p1", 1, None, 1)
    assert err.value.reason is Reason.BAD_FIELD  # not one's own
    report = c.report("p2", 1, "spam", 1).report
    with pytest.raises(HirobaError) as err:
        c.report("p2", 1, "again", 2)
    assert err.value.reason is Reason.DUPLICATE
    c.report("p3", 1, "", 2)
    assert [r.reporter for r in c.queue()] == ["p2", "p3"]
    events = c.hide(1, "staff", "abuse", 3)
    assert isinstance(events[0], ChatHidden) and events[0].message.hidden
    assert all(isinstance(e, ReportResolved) and e.report.state == ReportState.UPHELD
               for e in events[1:]) and len(events) == 3
    assert c.queue() == () and c.messages() == ()
    assert c.messages(include_hidden=True)[0].hidden_reason == "abuse"
    with pytest.raises(HirobaError) as err:
        c.hide(1, "staff", "", 4)
    assert err.value.reason is Reason.WRONG_STATE
    c.restore(1, "staff", 5)
    assert c.messages()[0].text == "hello"
    assert report.state == ReportState.OPEN  # records are immutable snapshots
    with pytest.raises(HirobaError) as err:
        c.report("p2", 99, None, 6)
    assert err.value.reason is Reason.NO_SUCH_ITEM


def test_dismiss_and_history_keeps_reported_messages() -> None:
    c = Chat("r", WORDS, history=3)
    c.limiter.burst = c.limiter.rate = 1000
    c.post("p1", "a", "citizen", "first", 0)
    c.report("p2", 1, None, 0)
    for i in range(5):
        c.post("p1", "a", "citizen", f"m{i}", 1 + i)
    assert [m.id for m in c.messages()] == [1, 5, 6]
    (resolved,) = [c.dismiss(1, "staff", 10)]
    assert resolved.report.state == ReportState.DISMISSED
    c.post("p1", "a", "citizen", "more", 11)
    assert [m.id for m in c.messages()] == [5, 6, 7]


def test_records_round_trip() -> None:
    c = chat()
    c.post("p1", "a", "citizen", "one", 0)
    c.post("p2", "b", "member", "two", 0)
    c.report("p2", 1, "x", 1)
    c.hide(2, "staff", "y", 2)
    messages, reports = c.to_records()
    again = Chat.from_records("r", WORDS, messages, reports)
    assert again.to_records() == (messages, reports)
    assert again.post("p3", "c", "citizen", "three", 3).message.id == 3
    later = Chat.from_records("r", WORDS, messages[-1:], (), next_message_id=10,
                              next_report_id=5)
    assert later.post("p3", "c", "citizen", "x", 3).message.id == 10


def test_keyed_buckets_forget_idle_people() -> None:
    from moderation.rate_limit import KeyedBuckets

    buckets = KeyedBuckets(rate=1.0, burst=2.0)
    assert buckets.allow("a", 0) and buckets.allow("a", 0) and not buckets.allow("a", 0)
    buckets.allow("b", 0)
    buckets.prune(1.0)
    assert len(buckets) == 2
    buckets.prune(2.5)  # both full again: same as new
    assert len(buckets) == 0
