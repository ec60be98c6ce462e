"""The agenda: items, opening and advancing, overruns, editing."""

from __future__ import annotations

import pytest

from moderation.agenda import (
    Agenda,
    AgendaState,
    ItemClosed,
    ItemOpened,
    ItemOverran,
    ItemState,
)
from rooms.errors import HirobaError, Reason


def make() -> Agenda:
    agenda = Agenda("r")
    agenda.add("開会", 60, 0)
    agenda.add("議題1: DX推進計画", 600, 0)
    agenda.add("閉会", 0, 0)
    return agenda


def test_advance_through_the_agenda() -> None:
    agenda = make()
    assert agenda.state is AgendaState.NOT_STARTED and agenda.current is None
    (opened,) = agenda.advance(100)
    assert isinstance(opened, ItemOpened) and opened.item_id == 1
    closed, opened = agenda.advance(150)
    assert isinstance(closed, ItemClosed) and closed.spent == 50 and closed.overrun == 0
    assert opened.item_id == 2 and agenda.state is AgendaState.ITEM_OPEN
    agenda.close(900)
    assert agenda.state is AgendaState.BETWEEN_ITEMS
    agenda.advance(1000)
    assert agenda.current is not None and agenda.current.id == 3
    (closed,) = agenda.advance(1010)
    assert closed.overrun == 0  # no plan, no overrun
    assert agenda.state is AgendaState.FINISHED
    with pytest.raises(HirobaError) as err:
        agenda.advance(1020)
    assert err.value.reason is Reason.WRONG_STATE and "finished" in err.value.message


def test_overrun_is_reported_once_at_the_planned_end() -> None:
    agenda = make()
    agenda.open(2, 100)
    assert agenda.tick(699) == []
    (over,) = agenda.tick(750)
    assert isinstance(over, ItemOverran) and over.at == 700 and over.planned == 600
    assert agenda.tick(800) == []
    (closed,) = agenda.close(820)
    assert closed.overrun == 120


def test_reopening_accumulates_time() -> None:
    agenda = make()
    agenda.open(2, 0)
    agenda.open(1, 400)  # closes 2 after 400 s
    agenda.open(2, 500)
    item = agenda.current
    assert item is not None and item.spent(600) == 500
    (over,) = agenda.tick(800)
    assert over.at == 700


def test_edit_reorder_remove() -> None:
    agenda = make()
    agenda.edit(2, 0, title="議題1: 改訂", planned=900)
    assert agenda.items[1].title == "議題1: 改訂" and agenda.items[1].planned == 900
    agenda.reorder([3, 1, 2], 0)
    assert [i.id for i in agenda.items] == [3, 1, 2]
    with pytest.raises(HirobaError):
        agenda.reorder([1, 2], 0)
    agenda.open(1, 0)
    with pytest.raises(HirobaError) as err:
        agenda.remove(1, 0)
    assert err.value.reason is Reason.WRONG_STATE
    agenda.remove(3, 0)
    assert [i.id for i in agenda.items] == [1, 2]
    with pytest.raises(HirobaError) as err:
        agenda.remove(3, 0)
    assert err.value.reason is Reason.NO_SUCH_ITEM
    agenda.add("追加", 60, 0, position=0)
    assert agenda.items[0].id == 4  # ids never repeat


@pytest.mark.parametrize("planned", [-1, 1.5, True, "60", 10**9])
def test_bad_planned_durations(planned: object) -> None:
    with pytest.raises(HirobaError) as err:
        Agenda("r").add("x", planned, 0)
    assert err.value.reason is Reason.BAD_FIELD


def test_titles_are_cleaned_and_bounded() -> None:
    agenda = Agenda("r")
    agenda.add("  a\u202eb\n c ", 0, 0)
    assert agenda.items[0].title == "ab c"
    with pytest.raises(HirobaError) as err:
        agenda.add("x" * 201, 0, 0)
    assert err.value.reason is Reason.TOO_LONG


def test_records_round_trip() -> None:
    agenda = make()
    agenda.open(2, 0)
    agenda.tick(700)
    again = Agenda.from_records("r", agenda.to_records())
    assert again == agenda
    assert again.current is not None and again.current.state == ItemState.OPEN
    again.add("次", 0, 0)
    assert again.items[-1].id == 4
