"""Schema migrations for the SQLite store, applied in order; ``PRAGMA user_version`` is
the number of migrations already applied. Append new migrations; never edit old ones.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: rooms, their notices, and small key/value facts about the installation.
    """
    CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('plaza', 'consultation', 'committee')),
        name_ja TEXT NOT NULL,
        name_en TEXT NOT NULL,
        capacity INTEGER NOT NULL CHECK (capacity > 0),
        created_at TEXT NOT NULL
    );
    CREATE TABLE notices (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        board TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        posted_at TEXT NOT NULL
    );
    CREATE INDEX notices_by_room ON notices (room_id, posted_at);
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
)

MIGRATIONS += (
    # 2: meetings (issue 5). Procedure and consultation records of each room (JSON bodies
    # of the moderation/ record dataclasses, a few columns for queries), the server-wide
    # sanctions, the append-only audit log, attendance, staff accounts and their login
    # sessions (hashed ids), invitations and their redemptions, registration codes and
    # per-room meeting rules.
    """
    CREATE TABLE meeting_rules (
        room_id TEXT PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
        categories TEXT NOT NULL DEFAULT '[]',
        lobby INTEGER CHECK (lobby IN (0, 1))
    );
    CREATE TABLE registration_codes (
        room_id TEXT PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
        code TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE floors (
        room_id TEXT PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
        body TEXT NOT NULL
    );
    CREATE TABLE agenda_items (
        room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        position INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (room_id, id)
    );
    CREATE TABLE chat_messages (
        room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        at REAL NOT NULL,
        hidden INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (room_id, id)
    );
    CREATE TABLE chat_reports (
        room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        state TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (room_id, id)
    );
    CREATE TABLE opinions (
        room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (room_id, id)
    );
    CREATE TABLE questions (
        room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (room_id, id)
    );
    CREATE TABLE polls (
        room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (room_id, id)
    );
    CREATE TABLE ballots (
        room_id TEXT NOT NULL,
        poll_id INTEGER NOT NULL,
        person TEXT NOT NULL,
        choices TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (room_id, poll_id, person),
        FOREIGN KEY (room_id, poll_id) REFERENCES polls (room_id, id) ON DELETE CASCADE
    );
    CREATE TABLE captions (
        room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        at REAL NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (room_id, seq)
    );
    CREATE TABLE lobby_waiters (
        room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        pid TEXT NOT NULL,
        since REAL NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (room_id, pid)
    );
    CREATE TABLE sanctions (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('mute', 'remove', 'ban')),
        room_id TEXT,
        at REAL NOT NULL,
        expires_at REAL,
        lifted_at REAL,
        body TEXT NOT NULL
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        room_id TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX audit_log_by_room ON audit_log (room_id, id);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TABLE attendance (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        room_id TEXT NOT NULL,
        pid TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        place TEXT NOT NULL,
        joined_at REAL NOT NULL,
        left_at REAL,
        cause TEXT
    );
    CREATE INDEX attendance_by_room ON attendance (room_id, pid);
    CREATE TABLE staff_accounts (
        name TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        display_name TEXT NOT NULL,
        created_at REAL NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE staff_sessions (
        key TEXT PRIMARY KEY,
        account TEXT NOT NULL REFERENCES staff_accounts (name) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        last_seen REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE invitations (
        token_id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        role TEXT NOT NULL,
        name TEXT,
        expires_at INTEGER NOT NULL,
        issued_by TEXT NOT NULL,
        issued_at REAL NOT NULL
    );
    CREATE TABLE redemptions (
        token_id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        device TEXT NOT NULL,
        at REAL NOT NULL
    );
    """,
)

MIGRATIONS += (
    # 3: recordings (issue 6). The index of the recordings kept under the recordings
    # folder (server/recording/): one row per recording folder. No foreign key to rooms:
    # a recording is a public record and outlives the room it was made in.
    """
    CREATE TABLE recordings (
        id TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        started REAL NOT NULL,
        stopped REAL,
        state TEXT NOT NULL CHECK (state IN ('recording', 'stopped', 'failed')),
        published INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
        published_at REAL,
        duration_ms INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        started_by TEXT NOT NULL DEFAULT '',
        recovered INTEGER NOT NULL DEFAULT 0 CHECK (recovered IN (0, 1))
    );
    CREATE INDEX recordings_by_room ON recordings (room_id, started);
    CREATE INDEX recordings_by_state ON recordings (published, state, started);
    """,
)

MIGRATIONS += (
    # 4: per-resident single-use codes (issue 14). A consultation whose counts matter hands
    # each resident a code; the first device identity to use one owns it. Only a hash of
    # the code is kept (moderation.credentials.resident_code_hash); ``used_by`` is a device
    # reference (a hash), empty while the code is unused.
    """
    CREATE TABLE resident_codes (
        code_hash TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        issued_by TEXT NOT NULL,
        issued_at REAL NOT NULL,
        used_by TEXT NOT NULL DEFAULT '',
        used_at REAL
    );
    CREATE INDEX resident_codes_by_room ON resident_codes (room_id);
    """,
)

MIGRATIONS += (
    # 5: who holds a room's event and when (issue 15, defect 10): the join page says it
    # before anyone enters. Staff set it in the console or with `hiroba rooms schedule`.
    # Times are UTC seconds (shown in the city's zone); NULL: not said.
    """
    CREATE TABLE room_schedules (
        room_id TEXT PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
        organiser TEXT NOT NULL DEFAULT '',
        starts_at INTEGER,
        ends_at INTEGER,
        CHECK (ends_at IS NULL OR (starts_at IS NOT NULL AND ends_at > starts_at))
    );
    """,
)

MIGRATIONS += (
    # 6: minutes approval (issue 16, 会議録署名). Signing accounts: a staff_accounts row of
    # kind 'signer' logs in to the console only to approve the drafts naming it. Every
    # saved version of a recording's minutes is kept (never updated or deleted); the
    # approval state (signers, decisions, the published version) is one JSON body per
    # recording (moderation.minutes_approval.Approval). No foreign key to recordings: the
    # index is rebuilt from the folders, the minutes' versions are the record.
    """
    ALTER TABLE staff_accounts ADD COLUMN kind TEXT NOT NULL DEFAULT 'staff'
        CHECK (kind IN ('staff', 'signer'));
    CREATE TABLE minutes_versions (
        recording_id TEXT NOT NULL,
        number INTEGER NOT NULL CHECK (number > 0),
        text TEXT NOT NULL,
        note TEXT NOT NULL,
        saved_by TEXT NOT NULL,
        saved_at REAL NOT NULL,
        PRIMARY KEY (recording_id, number)
    );
    CREATE TABLE minutes_approvals (
        recording_id TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    """,
)

MIGRATIONS += (
    # 7: the committee procedure (issue 16, part A). One JSON body per committee room
    # (moderation.committee.CommitteeRecord: roster, attendance with times, identity
    # checks, recusals, motions, votes by name, quorum changes, closed sessions, gallery
    # counts), rewritten at every change like the floor; and the room's quorum rule
    # (moderation.quorum.QuorumRule), a room setting staff change in the console.
    """
    CREATE TABLE committees (
        room_id TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE committee_rules (
        room_id TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    """,
)

MIGRATIONS += (
    # 8: the committee's public gallery counts (issue 19: thousands watching one committee
    # meeting) out of the committee's record, which was rewritten whole at each gallery
    # join. One row per distinct visitor (person key; INSERT OR IGNORE at their first
    # join) and one row of counts per room (peak and total, upserted with the visitor's
    # join, in the same transaction as their attendance row).
    """
    CREATE TABLE committee_gallery_keys (
        room_id TEXT NOT NULL,
        key TEXT NOT NULL,
        PRIMARY KEY (room_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE committee_gallery (
        room_id TEXT PRIMARY KEY,
        peak INTEGER NOT NULL,
        total INTEGER NOT NULL
    );
    """,
)

MIGRATIONS += (
    # 9: a committee ballot cast (or a hand raised and lowered in a show of hands) is
    # stored as its own row, not by rewriting the committee's whole record (tens of KiB
    # after a long sitting: a member changing their hand at the socket event budget
    # rewrote it 30 times a second). The record written at the next other change holds
    # the same; a load lays the rows over it (server/meetings/store.py).
    """
    CREATE TABLE committee_ballots (
        room_id TEXT NOT NULL,
        vote INTEGER NOT NULL,
        member TEXT NOT NULL,
        choice TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (room_id, vote, member)
    ) WITHOUT ROWID;
    """,
)

MIGRATIONS += (
    # 10: whether a committee ballot was cast with the member's identity camera live (the
    # committee's rule camera_during_vote; issue 16). 0 for ballots stored before: no
    # camera was asked of them.
    """
    ALTER TABLE committee_ballots ADD COLUMN camera INTEGER NOT NULL DEFAULT 0;
    """,
)

MIGRATIONS += (
    # 11: transcripts of recordings (issue 17). A recording's transcription job (one per
    # recording; a restart resumes the tracks not done), each speaker track's state, the
    # segments (times in seconds from the recording's start; `text` is the current text,
    # `auto_text` what the engine said; a segment merged into another is kept, `removed`),
    # and every staff edit with what it changed (before/after as JSON), never deleted.
    """
    CREATE TABLE transcript_jobs (
        recording_id TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
        model TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        queued_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL
    );
    CREATE TABLE transcript_tracks (
        recording_id TEXT NOT NULL,
        track TEXT NOT NULL,
        pid TEXT NOT NULL,
        name TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
        error TEXT NOT NULL DEFAULT '',
        seconds REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (recording_id, track)
    ) WITHOUT ROWID;
    CREATE TABLE transcript_segments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recording_id TEXT NOT NULL,
        track TEXT NOT NULL,
        pid TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        turn INTEGER,
        start REAL NOT NULL,
        end REAL NOT NULL,
        text TEXT NOT NULL,
        auto_text TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('auto', 'corrected', 'inaudible')),
        removed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX transcript_segments_by_time ON transcript_segments (recording_id, start);
    CREATE TABLE transcript_edits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recording_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('text', 'merge', 'split', 'inaudible')),
        segments TEXT NOT NULL,
        before TEXT NOT NULL,
        after TEXT NOT NULL,
        by TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX transcript_edits_by_recording ON transcript_edits (recording_id, id);
    """,
)

MIGRATIONS += (
    # 12: the archive's full-text search (issue 17) over published recordings' transcript
    # segments and minutes: SQLite FTS5 with the trigram tokenizer (Japanese has no spaces
    # between words; trigrams match any substring of three or more characters). One row
    # per searchable piece; `kind` 'segment' (ref: the segment id) or 'minutes' (ref: '');
    # `at`: seconds from the recording's start, for the replay link. Rebuilt per
    # recording when it is published, unpublished or corrected.
    """
    CREATE VIRTUAL TABLE archive_search USING fts5 (
        text,
        recording_id UNINDEXED,
        kind UNINDEXED,
        ref UNINDEXED,
        at UNINDEXED,
        tokenize = 'trigram'
    );
    """,
)

MIGRATIONS += (
    # 13: VRM avatars (issue 18; server/avatars/store.py). One row per uploaded file, by
    # the sha256 of its bytes (the file itself is DATA_DIR/avatars/<sha256>.vrm): who
    # uploaded it (``staff:<account>``), whom it is bound to (``member:<name>`` or
    # ``staff:<account>``), the validator's report (JSON), its state and who approved it.
    # The model a principal wears is its most recently approved one.
    """
    CREATE TABLE avatars (
        sha256 TEXT PRIMARY KEY,
        uploaded_by TEXT NOT NULL,
        bound_to TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'withdrawn')),
        report TEXT NOT NULL,
        created_at REAL NOT NULL,
        approved_at REAL,
        approved_by TEXT
    ) WITHOUT ROWID;
    CREATE INDEX avatars_by_principal ON avatars (bound_to, status, approved_at);
    """,
)
