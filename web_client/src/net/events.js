/**
 * Socket.io event names of the Hiroba control plane, defined once for the browser.
 * They must match server/sockets/events.py and docs/protocol.md.
 */
export const JOIN = 'join';
export const LEAVE = 'leave';
export const MOVE = 'move';
export const ROOM_DELTA = 'room:delta';
// Face tracking (docs/protocol.md, "Face tracking").
export const POSE = 'pose';
export const TRACKING = 'tracking';
export const RTC_OFFER = 'rtc:offer';
export const RTC_CLOSE = 'rtc:close';
export const RTC_CLOSED = 'rtc:closed';
// The motion plane over a WebRTC data channel (the fallback transport).
export const MOTION_OFFER = 'motion:offer';
export const MOTION_CLOSE = 'motion:close';
// Audio plane (docs/protocol.md, "Audio"): client → server, each acknowledged.
export const AUDIO_PUBLISH = 'audio:publish';
export const AUDIO_LISTEN = 'audio:listen';
export const AUDIO_CLOSE = 'audio:close';
// Audio plane: server → client.
export const AUDIO_SLOTS = 'audio:slots';
export const AUDIO_ACTIVE = 'audio:active';
export const AUDIO_CLOSED = 'audio:closed';
// Identity-check video (docs/protocol.md, "Identity video"): client → server, acknowledged.
export const IDENTITY_PUBLISH = 'identity:publish';
export const IDENTITY_VIEW = 'identity:view';
export const IDENTITY_STOP = 'identity:stop';
export const IDENTITY_ASK = 'identity:ask';
// Identity-check video: server → client.
export const IDENTITY_SLOTS = 'identity:slots';
export const IDENTITY_CLOSED = 'identity:closed';
export const IDENTITY_ASKED = 'identity:asked';
// Meetings (docs/protocol.md, "Meetings"): client → server, each acknowledged.
export const CONSOLE_JOIN = 'console:join';
export const CHAT_SEND = 'chat:send';
export const CHAT_REPORT = 'chat:report';
export const CHAT_HIDE = 'chat:hide';
export const CHAT_RESTORE = 'chat:restore';
export const REPORT_DISMISS = 'report:dismiss';
export const HAND_RAISE = 'hand:raise';
export const HAND_LOWER = 'hand:lower';
export const FLOOR_GIVE = 'floor:give';
export const FLOOR_NEXT = 'floor:next';
export const FLOOR_REVOKE = 'floor:revoke';
export const FLOOR_YIELD = 'floor:yield';
export const FLOOR_EXTEND = 'floor:extend';
export const AGENDA_ADD = 'agenda:add';
export const AGENDA_EDIT = 'agenda:edit';
export const AGENDA_REMOVE = 'agenda:remove';
export const AGENDA_REORDER = 'agenda:reorder';
export const AGENDA_OPEN = 'agenda:open';
export const AGENDA_ADVANCE = 'agenda:advance';
export const AGENDA_CLOSE = 'agenda:close';
export const LOBBY_ADMIT = 'lobby:admit';
export const LOBBY_REFUSE = 'lobby:refuse';
export const LOBBY_LIST = 'lobby:list';
export const REPORTS_LIST = 'reports:list';
export const SANCTIONS_LIST = 'sanctions:list';
export const PARTICIPANTS_LIST = 'participants:list';
export const SANCTION_MUTE = 'sanction:mute';
export const SANCTION_UNMUTE = 'sanction:unmute';
export const SANCTION_REMOVE = 'sanction:remove';
export const SANCTION_BAN = 'sanction:ban';
export const SANCTION_LIFT = 'sanction:lift';
export const INVITE_CREATE = 'invite:create';
export const RESIDENT_CODES = 'codes:issue';
export const OPINION_SUBMIT = 'opinion:submit';
export const OPINION_SUPPORT = 'opinion:support';
export const OPINION_WITHDRAW = 'opinion:withdraw';
export const OPINION_MARK = 'opinion:mark';
export const OPINION_MERGE = 'opinion:merge';
export const OPINION_RESPOND = 'opinion:respond';
export const OPINION_HIDE = 'opinion:hide';
export const QUESTION_ASK = 'question:ask';
export const QUESTION_VOTE = 'question:vote';
export const QUESTION_ANSWER = 'question:answer';
export const QUESTION_DISMISS = 'question:dismiss';
export const POLL_CREATE = 'poll:create';
export const POLL_VOTE = 'poll:vote';
export const POLL_CLOSE = 'poll:close';
export const CAPTION_POST = 'caption:post';
export const CAPTION_CORRECT = 'caption:correct';
// Meetings: server → client.
export const MEETING_EVENT = 'meeting:event';
export const MEETING_FLOOR = 'meeting:floor';
export const MEETING_AGENDA = 'meeting:agenda';
export const MEETING_STAFF = 'meeting:staff';
export const MEETING_NOTICE = 'meeting:notice';
export const MEETING_ADMITTED = 'meeting:admitted';
// Recording (docs/protocol.md, "Recording"): staff console → server, acknowledged.
export const RECORDING_START = 'recording:start';
export const RECORDING_STOP = 'recording:stop';
// Recording: server → room (and the console), on every start and stop.
export const MEETING_RECORDING = 'meeting:recording';
// Committees (docs/protocol.md, "Committees"): server → room, on joining and every change.
export const COMMITTEE_STATE = 'committee:state';
// Committees: chair, staff and members → server, each acknowledged (part A of issue 16).
export const COMMITTEE_ROLLCALL = 'committee:rollcall';
export const COMMITTEE_PRESENT = 'committee:present';
export const COMMITTEE_ATTENDANCE = 'committee:attendance';
export const COMMITTEE_VERIFY = 'committee:verify';
export const COMMITTEE_RECUSE = 'committee:recuse';
export const COMMITTEE_MOTION = 'committee:motion';
export const COMMITTEE_CLOSED_SESSION = 'committee:closed_session';
export const COMMITTEE_VOTE_OPEN = 'committee:vote_open';
export const COMMITTEE_VOTE_CAST = 'committee:vote_cast';
export const COMMITTEE_VOTE_CLOSE = 'committee:vote_close';
export const COMMITTEE_DECIDE = 'committee:decide';
export const COMMITTEE_VOTE_RERUN = 'committee:vote_rerun';
