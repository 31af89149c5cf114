//! The public contract of the team messaging service: what it accepts on the bus, what it
//! answers, the events of its stream and its HTTP routes. Serde types only, no behaviour.
//!
//! The patient timeline (`timeline`): the care team writes a post once (report, contact,
//! consult — 報告・連絡・相談), with optional flags (至急 urgent, 要返信 reply requested) and
//! the data category the patient's consent must cover; every member of the team reads it
//! when they can. A post's text is the patient's personal data: sealed with the patient's
//! own key, so erasing the patient shreds it. The boards (`boards`): notices for a
//! municipality or the region; the broadcasts (`broadcasts`), reviewed by the coordination
//! centre: never patient data. The consultations (`consultations`): one member and the
//! centre, a patient named only through the access decision.

pub mod boards;
pub mod broadcasts;
pub mod consultations;
pub mod events;
pub mod routes;
pub mod timeline;

pub use routes::api;

/// The service's name on the bus (`<namespace>.rpc.messaging.<endpoint>`).
pub const SERVICE: &str = "messaging";

/// The event context this service writes (stream `<NAMESPACE>_MESSAGING`).
pub const CONTEXT: &str = "messaging";

/// Aggregate types of this context, the third token of their subjects.
pub mod aggregates {
    /// A post on a patient's timeline, identified by a UUIDv7 the service chose: created,
    /// then edited or withdrawn.
    pub const POST: &str = "post";
    /// One member's receipt of one post (read, acknowledged), identified by
    /// `<post_id>_<member_id>`.
    pub const RECEIPT: &str = "receipt";
    /// A board, identified by a UUIDv7: opened.
    pub const BOARD: &str = "board";
    /// A post on a board, identified by a UUIDv7: created, then pinned or unpinned.
    pub const BOARD_POST: &str = "board_post";
    /// A broadcast, identified by a UUIDv7: submitted, returned, resubmitted, published.
    pub const BROADCAST: &str = "broadcast";
    /// A consultation, identified by a UUIDv7: opened, answered, assigned, closed.
    pub const CONSULTATION: &str = "consultation";
}

/// Endpoint names on the bus.
pub mod endpoints {
    /// Command: post to a patient's timeline ([`crate::timeline::CreatePost`]).
    pub const CREATE_POST: &str = "create_post";
    /// Query: a page of a patient's timeline, newest first ([`crate::timeline::ReadTimeline`]).
    pub const READ_TIMELINE: &str = "read_timeline";

    /// Command: a member read a post, or acknowledged it ([`crate::timeline::RecordReceipt`]).
    pub const RECORD_RECEIPT: &str = "record_receipt";
    /// Command: the author changes a post's text ([`crate::timeline::EditPost`]).
    pub const EDIT_POST: &str = "edit_post";
    /// Command: the author or the secretariat withdraws a post ([`crate::timeline::RetractPost`]).
    pub const RETRACT_POST: &str = "retract_post";
    /// Query: every text a post had, and its withdrawal ([`crate::timeline::ReadPostHistory`]).
    pub const POST_HISTORY: &str = "post_history";

    /// Query: posts of my patients' timelines holding these words ([`crate::timeline::SearchPosts`]).
    pub const SEARCH_POSTS: &str = "search_posts";

    /// Query: may this file attached to a post be streamed to the caller
    /// ([`crate::timeline::OpenAttachment`])? Decided as a read of the post, and recorded.
    pub const OPEN_ATTACHMENT: &str = "open_attachment";

    /// Query: who is on a patient's team now ([`crate::timeline::ReadTeamPeople`]).
    pub const TEAM_PEOPLE: &str = "team_people";

    /// Command: open a board ([`crate::boards::NewBoard`]).
    pub const OPEN_BOARD: &str = "open_board";
    /// Query: the boards the caller may read ([`crate::boards::ListBoards`]).
    pub const LIST_BOARDS: &str = "list_boards";
    /// Query: a board and its posts ([`crate::boards::ReadBoard`]).
    pub const READ_BOARD: &str = "read_board";
    /// Query: posts of the boards the caller reads holding these words
    /// ([`crate::boards::SearchBoards`]).
    pub const SEARCH_BOARDS: &str = "search_boards";
    /// Command: post to a board ([`crate::boards::PostToBoard`]).
    pub const POST_TO_BOARD: &str = "post_to_board";
    /// Command: pin or unpin a board's post ([`crate::boards::PinBoardPost`]).
    pub const PIN_BOARD_POST: &str = "pin_board_post";

    /// Command: send a broadcast, or submit one for review ([`crate::broadcasts::NewBroadcast`]).
    pub const SEND_BROADCAST: &str = "send_broadcast";
    /// Command: the centre publishes or returns a submission ([`crate::broadcasts::ReviewBroadcast`]).
    pub const REVIEW_BROADCAST: &str = "review_broadcast";
    /// Command: the submitter revises a returned submission ([`crate::broadcasts::ReviseBroadcast`]).
    pub const REVISE_BROADCAST: &str = "revise_broadcast";
    /// Query: the broadcasts the caller received ([`crate::broadcasts::ListBroadcasts`]).
    pub const RECEIVED_BROADCASTS: &str = "received_broadcasts";
    /// Query: the submissions the caller follows: their own, or the centre's municipality's.
    pub const BROADCAST_SUBMISSIONS: &str = "broadcast_submissions";
    /// Query: a submission's history ([`crate::broadcasts::ReadBroadcastHistory`]).
    pub const BROADCAST_HISTORY: &str = "broadcast_history";

    /// Command: open a consultation ([`crate::consultations::NewConsultation`]).
    pub const OPEN_CONSULTATION: &str = "open_consultation";
    /// Query: the consultations the caller follows ([`crate::consultations::ListConsultations`]).
    pub const LIST_CONSULTATIONS: &str = "list_consultations";
    /// Query: one consultation with its messages ([`crate::consultations::ConsultationRef`]).
    pub const READ_CONSULTATION: &str = "read_consultation";
    /// Command: write in a consultation ([`crate::consultations::WriteInConsultation`]).
    pub const ANSWER_CONSULTATION: &str = "answer_consultation";
    /// Command: assign a consultation ([`crate::consultations::AssignConsultation`]).
    pub const ASSIGN_CONSULTATION: &str = "assign_consultation";
    /// Command: close a consultation ([`crate::consultations::ConsultationRef`]).
    pub const CLOSE_CONSULTATION: &str = "close_consultation";

    /// Every endpoint the service answers.
    pub const ALL: &[&str] = &[
        SEARCH_BOARDS,
        OPEN_CONSULTATION,
        LIST_CONSULTATIONS,
        READ_CONSULTATION,
        ANSWER_CONSULTATION,
        ASSIGN_CONSULTATION,
        CLOSE_CONSULTATION,
        SEND_BROADCAST,
        REVIEW_BROADCAST,
        REVISE_BROADCAST,
        RECEIVED_BROADCASTS,
        BROADCAST_SUBMISSIONS,
        BROADCAST_HISTORY,
        OPEN_BOARD,
        LIST_BOARDS,
        READ_BOARD,
        POST_TO_BOARD,
        PIN_BOARD_POST,
        TEAM_PEOPLE,
        SEARCH_POSTS,
        CREATE_POST,
        READ_TIMELINE,
        RECORD_RECEIPT,
        EDIT_POST,
        RETRACT_POST,
        POST_HISTORY,
        OPEN_ATTACHMENT,
    ];
}
