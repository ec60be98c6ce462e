"""The conversation and consultation tools of a meeting: chat, opinions, Q&A, polls and
captions, each behind the permission policy. Part of :class:`moderation.meeting.Meeting`.

Every method names its actor by participant id, checks the policy, changes state and
returns the events (audit entries included) for the server to persist and broadcast.
"""

from __future__ import annotations

from collections.abc import Sequence

from moderation.captions import Captions
from moderation.chat import Chat
from moderation.events import DomainEvent
from moderation.limits import check_id, optional_reason
from moderation.opinions import Opinions
from moderation.policy import Action
from moderation.polls import Polls
from moderation.questions import Questions
from moderation.rate_limit import KeyedBuckets
from moderation.roster import MeetingBase, Person
from rooms.errors import HirobaError, Reason
from rooms.model import Role


class ForumOps(MeetingBase):
    """Chat, opinions, questions, polls and captions."""

    chat: Chat
    opinions: Opinions
    questions: Questions
    polls: Polls
    captions: Captions
    submissions: KeyedBuckets

    def _author(self, pid: str) -> Person | None:
        return self.people.get(pid)

    def _limit_submission(self, who: Person, now: float) -> None:
        if not self.submissions.allow(who.key, now):
            raise HirobaError(Reason.RATE_LIMITED, "you are sending too fast; wait a moment")

    # -- chat -------------------------------------------------------------------------

    def chat_send(self, pid: str, text: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.CHAT_SEND, now)
        return [self.chat.post(who.pid, who.name, who.role.value, text, now, person=who.key)]

    def chat_report(
        self, pid: str, message_id: object, reason: object, now: float
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.CHAT_REPORT, now)
        self._limit_submission(who, now)
        return [self.chat.report(who.pid, check_id(message_id, "message"), reason, now)]

    def chat_hide(
        self, pid: str, message_id: object, now: float, reason: object = None
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.CHAT_HIDE, now)
        message = self.chat.message(check_id(message_id, "message"))
        author = self._author(message.author)
        why = optional_reason(reason)
        return self.chat.hide(message.id, who.actor_id, why, now) + self.audited(
            who, Action.CHAT_HIDE, now, target=author, reason=why,
            details={"message": message.id, "author": message.author_name},
        )

    def chat_restore(self, pid: str, message_id: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.CHAT_RESTORE, now)
        event = self.chat.restore(check_id(message_id, "message"), who.actor_id, now)
        return [event, *self.audited(who, Action.CHAT_RESTORE, now,
                                     details={"message": event.message.id})]

    def report_dismiss(self, pid: str, report_id: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.REPORT_DISMISS, now)
        event = self.chat.dismiss(check_id(report_id, "report"), who.actor_id, now)
        return [event, *self.audited(who, Action.REPORT_DISMISS, now,
                                     details={"report": event.report.id})]

    # -- opinions ---------------------------------------------------------------------

    def opinion_submit(
        self, pid: str, category: object, text: object, now: float
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.OPINION_SUBMIT, now)
        self._limit_submission(who, now)
        return [self.opinions.submit(who.pid, who.key, who.name, category, text, now)]

    def opinion_support(self, pid: str, opinion_id: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.OPINION_SUPPORT, now)
        return [self.opinions.support(check_id(opinion_id, "opinion"), who.key, now)]

    def opinion_withdraw(self, pid: str, opinion_id: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.OPINION_SUPPORT, now)
        return [self.opinions.withdraw(check_id(opinion_id, "opinion"), who.key, now)]

    def opinion_mark(
        self, pid: str, opinion_id: object, status: object, now: float
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.OPINION_MARK, now)
        event = self.opinions.mark(check_id(opinion_id, "opinion"), status, now, by=who.actor_id)
        return [event, *self.audited(who, Action.OPINION_MARK, now, details={
            "opinion": event.opinion.id, "status": event.opinion.status})]

    def opinion_merge(
        self, pid: str, source_id: object, target_id: object, now: float
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.OPINION_MERGE, now)
        source, target = check_id(source_id, "source"), check_id(target_id, "target")
        return self.opinions.merge(source, target, now, by=who.actor_id) + self.audited(
            who, Action.OPINION_MERGE, now, details={"source": source, "target": target})

    def opinion_respond(
        self, pid: str, opinion_id: object, text: object, now: float
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.OPINION_RESPOND, now)
        event = self.opinions.respond(check_id(opinion_id, "opinion"), text, now,
                                      by=who.actor_id)
        return [event, *self.audited(who, Action.OPINION_RESPOND, now,
                                     details={"opinion": event.opinion.id})]

    def opinion_hide(
        self, pid: str, opinion_id: object, hidden: bool, now: float, reason: object = None
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.OPINION_HIDE, now)
        why = optional_reason(reason)
        event = self.opinions.set_hidden(check_id(opinion_id, "opinion"), hidden, now,
                                         by=who.actor_id)
        return [event, *self.audited(who, Action.OPINION_HIDE, now, reason=why, details={
            "opinion": event.opinion.id, "hidden": hidden})]

    # -- questions --------------------------------------------------------------------

    def question_ask(self, pid: str, text: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.QUESTION_ASK, now)
        self._limit_submission(who, now)
        return [self.questions.ask(who.pid, who.key, who.name, text, now)]

    def question_vote(
        self, pid: str, question_id: object, now: float, *, withdraw: bool = False
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.QUESTION_VOTE, now)
        qid = check_id(question_id, "question")
        if withdraw:
            return [self.questions.unvote(qid, who.key, now)]
        return [self.questions.vote(qid, who.key, now)]

    def question_answer(
        self, pid: str, question_id: object, now: float, text: object = None
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.QUESTION_ANSWER, now)
        event = self.questions.answer(check_id(question_id, "question"), now, by=who.actor_id,
                                      text=text)
        return [event, *self.audited(who, Action.QUESTION_ANSWER, now,
                                     details={"question": event.question.id})]

    def question_dismiss(
        self, pid: str, question_id: object, now: float, reason: object = None
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.QUESTION_DISMISS, now)
        event = self.questions.dismiss(check_id(question_id, "question"), now, by=who.actor_id,
                                       reason=reason)
        return [event, *self.audited(who, Action.QUESTION_DISMISS, now,
                                     reason=optional_reason(reason),
                                     details={"question": event.question.id})]

    # -- polls ------------------------------------------------------------------------

    def poll_create(
        self, pid: str, question: object, options: object, now: float, *,
        multiple: bool = False, max_choices: int | None = None,
        electorate: Sequence[Role] = (Role.CITIZEN,),
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.POLL_CREATE, now)
        event = self.polls.create(question, options, now, by=who.actor_id, multiple=multiple,
                                  max_choices=max_choices, electorate=electorate)
        return [event, *self.audited(who, Action.POLL_CREATE, now, details={
            "poll": event.poll.id, "question": event.poll.question})]

    def poll_vote(
        self, pid: str, poll_id: object, choices: object, now: float
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.POLL_VOTE, now)
        return [self.polls.vote(check_id(poll_id, "poll"), who.key, who.role, choices, now)]

    def poll_close(self, pid: str, poll_id: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.POLL_CLOSE, now)
        event = self.polls.close(check_id(poll_id, "poll"), now, by=who.actor_id)
        return [event, *self.audited(who, Action.POLL_CLOSE, now, details={
            "poll": event.poll.id, "voters": event.poll.voters})]

    # -- captions ---------------------------------------------------------------------

    def caption_post(self, pid: str, text: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.CAPTION_POST, now)
        return [self.captions.post(who.actor_id, text, now)]

    def caption_correct(
        self, pid: str, text: object, now: float, seq: int | None = None
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.CAPTION_POST, now)
        return [self.captions.correct_last(who.actor_id, text, now, seq=seq)]

    def caption_auto(
        self, speaker: str, text: object, now: float, *, lang: str, spoken_from: float,
        spoken_to: float,
    ) -> list[DomainEvent]:
        """An automatic caption of what ``speaker`` said (the server's recogniser: no
        person acts, so no permission is asked; the server only captions the room's
        speakers). Nothing when the speaker has left meanwhile."""
        person = self.people.get(speaker)
        if person is None:
            return []
        return [self.captions.post_auto(text, now, lang=lang, speaker=speaker,
                                        speaker_name=person.name, spoken_from=spoken_from,
                                        spoken_to=spoken_to)]
