//! The HTTP routes of team messaging, declared once (see `doors`).

use doors::{Content, Declared, Door, FileContent, Object, PathId, PathIds, Route};
use permissions::Action;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::SERVICE;
use crate::boards::*;
use crate::broadcasts::*;
use crate::consultations::*;
use crate::endpoints as ep;
use crate::timeline::*;

const TAG: &str = "timeline";
const BOARDS: &str = "boards";
const BROADCASTS: &str = "broadcasts";
const CONSULTATIONS: &str = "consultations";

/// A consultation in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConsultationPath {
    /// The consultation's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub consultation_id: String,
}

impl PathIds for ConsultationPath {
    const IDS: &'static [PathId] = &[PathId::new("consultation_id", Object::Consultation)];
}

/// A broadcast in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BroadcastPath {
    /// The broadcast's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub broadcast_id: String,
}

impl PathIds for BroadcastPath {
    const IDS: &'static [PathId] = &[PathId::new("broadcast_id", Object::Broadcast)];
}

/// A board in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BoardPath {
    /// The board's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub board_id: String,
}

impl PathIds for BoardPath {
    const IDS: &'static [PathId] = &[PathId::new("board_id", Object::Board)];
}

/// A post of a board in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BoardPostPath {
    /// The board's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub board_id: String,
    /// The post's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub post_id: String,
}

impl PathIds for BoardPostPath {
    const IDS: &'static [PathId] = &[
        PathId::new("board_id", Object::Board),
        PathId::new("post_id", Object::BoardPost),
    ];
}

/// A page of boards or of a board's posts.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// Those after this one (the previous page's `next_after`).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// A search of the boards.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardSearchParams {
    /// Words to find, in Japanese or not (each at least two characters; kana width and case
    /// do not matter), separated by spaces: a post holds every one.
    #[param(min_length = 2, max_length = 100)]
    pub q: String,
    /// Those after this one (the previous page's `next_after`).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// A patient in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TimelinePath {
    /// The patient's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub patient_id: String,
}

impl PathIds for TimelinePath {
    const IDS: &'static [PathId] = &[PathId::new("patient_id", Object::Patient)];
}

/// A post of a patient in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PostPath {
    /// The patient's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub patient_id: String,
    /// The post's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub post_id: String,
}

impl PathIds for PostPath {
    const IDS: &'static [PathId] = &[
        PathId::new("patient_id", Object::Patient),
        PathId::new("post_id", Object::Post),
    ];
}

/// A file attached to a post of a patient in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AttachmentPath {
    /// The patient's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub patient_id: String,
    /// The post's id (a UUID).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub post_id: String,
    /// The file's SHA-256, 64 lowercase hex characters (the post's `attachments[].sha256`).
    #[param(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
}

impl PathIds for AttachmentPath {
    const IDS: &'static [PathId] = &[
        PathId::new("patient_id", Object::Patient),
        PathId::new("post_id", Object::Post),
        PathId::new("sha256", Object::File),
    ];
}

/// A page of a timeline.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Posts older than this one (the previous page's `next_after`).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Why: `care` (default) or `emergency` (break-glass).
    #[param(value_type = Option<String>, pattern = "^(care|emergency)$", nullable = false)]
    pub purpose: Option<consent::Purpose>,
}

/// Why a post (its history, its files) is read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PostReadParams {
    /// Why: `care` (default) or `emergency` (break-glass).
    #[param(value_type = Option<String>, pattern = "^(care|emergency)$", nullable = false)]
    pub purpose: Option<consent::Purpose>,
}

/// A search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The words, e.g. `褥瘡` (at least two letters or digits side by side; several words
    /// separated by spaces must all be found). Kana width and Latin case do not matter.
    #[param(min_length = 2, max_length = 100)]
    pub q: String,
    /// Posts older than this one (the previous page's `next_after`).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub after: Option<String>,
    /// Page size, 1–50 (default 20).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

/// The contract's routes and tags.
pub fn api() -> doors::Api {
    const TAGS: &[doors::Tag] = &[
        doors::Tag {
            name: TAG,
            description: "A patient's timeline: the care team writes once, every member reads when they can. Every read and write is decided by the patient's consent and team, and recorded",
        },
        doors::Tag {
            name: BROADCASTS,
            description: "Broadcasts (一斉配信): the coordination centre sends to every member of its municipality or to chosen professions, broadcast-only members included; sites and associations submit for its review. Never patient data",
        },
        doors::Tag {
            name: CONSULTATIONS,
            description: "Consultations (相談): one member and the coordination centre of their municipality; any of its staff answers, one may be assigned; open until closed",
        },
        doors::Tag {
            name: BOARDS,
            description: "Boards (掲示板): notices for a municipality or the region — announcements, emergency notices, road closures, questions — for everyone or chosen professions or sites. Never patient data",
        },
    ];
    doors::Api {
        tags: TAGS,
        routes: routes(),
    }
}

fn routes() -> Vec<Declared> {
    let mut routes = timeline_routes();
    routes.extend(board_routes());
    routes.extend(broadcast_routes());
    routes.extend(consultation_routes());
    routes
}

fn board_routes() -> Vec<Declared> {
    const READ: Door = Door::Signed(&[Action::ReadBoards, Action::ReadRegionBoards]);
    const POST: Door = Door::Signed(&[Action::PostToBoard, Action::PostToRegionBoard]);
    const MANAGE: Door = Door::Signed(&[Action::ManageBoards]);
    vec![
        Route::post("open_board", "/api/v1/boards")
            .tag(BOARDS)
            .summary("Open a board for your municipality (the operator also region-wide): for everyone, or for the professions and sites named. Fire and police read a board only when it names them.")
            .door(MANAGE)
            .body::<NewBoard>()
            .body_ids(const {
                &[
                    doors::BodyId::own("/municipality", Object::Municipality),
                    doors::BodyId::own("/sites/*", Object::Site),
                ]
            })
            .service(SERVICE, ep::OPEN_BOARD, |_, _, board| Ok(board))
            .answers::<BoardOpenedAnswer>(201, "opened")
            .problems(&[
                (403, "a region-wide board is the operator's"),
                (422, "no name, an unknown profession, or a site not of your municipality (`/sites/<i>`)"),
            ])
            .into(),
        Route::get("list_boards", "/api/v1/boards")
            .tag(BOARDS)
            .summary("The boards you may read: your municipality's and the region's that are for you.")
            .door(READ)
            .query::<BoardParams>()
            .service(SERVICE, ep::LIST_BOARDS, |_, q, _| {
                Ok(ListBoards {
                    after: q.after,
                    limit: q.limit,
                })
            })
            .reads_after()
            .answers_page::<BoardView>(200, "the boards, oldest first")
            .into(),
        Route::get("search_boards", "/api/v1/boards/search")
            .tag(BOARDS)
            .summary("Search the boards you may read, in Japanese (通行止め is found): posts holding every word, newest first, with their board. A board that is not for you is never searched.")
            .door(READ)
            .query::<BoardSearchParams>()
            .service(SERVICE, ep::SEARCH_BOARDS, |_, q, _| {
                Ok(SearchBoards {
                    q: q.q,
                    after: q.after,
                    limit: q.limit,
                })
            })
            .reads_after()
            .answers::<BoardSearchPage>(200, "the posts found, newest first")
            .problems(&[(422, "no word of two characters or more (`/q`)")])
            .into(),
        Route::get("read_board", "/api/v1/boards/{board_id}/posts")
            .tag(BOARDS)
            .summary("A board and its posts: the pinned ones, then every post newest first. A board that is not for you answers as one that does not exist.")
            .door(READ)
            .path::<BoardPath>()
            .query::<BoardParams>()
            .service(SERVICE, ep::READ_BOARD, |p, q, _| {
                Ok(ReadBoard {
                    board_id: p.board_id,
                    after: q.after,
                    limit: q.limit,
                })
            })
            .reads_after()
            .answers::<BoardPage>(200, "the board and a page of its posts")
            .problems(&[(404, "no such board (or not one for you)")])
            .into(),
        Route::post("post_to_board", "/api/v1/boards/{board_id}/posts")
            .tag(BOARDS)
            .summary("Post to a board you may read: an announcement, an emergency notice (緊急), a road closure or a question (教えてほしい). Never a patient's data: a post naming a patient is refused.")
            .door(POST)
            .path::<BoardPath>()
            .body::<NewBoardPost>()
            .body_ids(const {
                &[doors::BodyId::held_by(
                    "/reply_to",
                    Object::BoardPost,
                    "a post on the same board, which the service checks",
                )]
            })
            .service(SERVICE, ep::POST_TO_BOARD, |p, _, post| {
                Ok(PostToBoard {
                    board_id: p.board_id,
                    post,
                })
            })
            .answers::<Posted>(201, "posted")
            .problems(&[
                (404, "no such board (or not one for you)"),
                (422, "an empty or too long post, an unknown kind, a patient named (`/patient_id`), or a reply to a post not on this board"),
            ])
            .into(),
        Route::post(
            "pin_board_post",
            "/api/v1/boards/{board_id}/posts/{post_id}/pin",
        )
        .tag(BOARDS)
        .summary("Pin a post to the top of the board, or unpin it: the board's municipality's secretariat or coordination centre, or the operator. At most 10 pinned at once.")
        .door(MANAGE)
        .path::<BoardPostPath>()
        .body::<PinBody>()
        .service(SERVICE, ep::PIN_BOARD_POST, |p, _, b| {
            Ok(PinBoardPost {
                board_id: p.board_id,
                post_id: p.post_id,
                pinned: b.pinned,
            })
        })
        .answers::<Pinned>(200, "where the pin stands")
        .problems(&[
            (403, "not a manager of this board"),
            (404, "no such board or post"),
            (409, "10 posts are pinned already"),
        ])
        .into(),
    ]
}

fn broadcast_routes() -> Vec<Declared> {
    const SEND_OR_SUBMIT: Door = Door::Signed(&[Action::SendBroadcast, Action::SubmitBroadcast]);
    const FOLLOW: Door = Door::Signed(&[
        Action::SubmitBroadcast,
        Action::ReviewAssociationPosts,
        Action::SendBroadcast,
    ]);
    vec![
        Route::post("send_broadcast", "/api/v1/broadcasts")
            .tag(BROADCASTS)
            .summary("Send a broadcast to your municipality (the coordination centre: published at once), or submit one for the centre's review (a site, a professional association).")
            .door(SEND_OR_SUBMIT)
            .body::<NewBroadcast>()
            .body_ids(const { &[doors::BodyId::own("/municipality", Object::Municipality)] })
            .service(SERVICE, ep::SEND_BROADCAST, |_, _, b| Ok(b))
            .answers::<BroadcastAnswer>(201, "published, or waiting for review")
            .problems(&[(422, "no title or text, too long, or an unknown profession")])
            .into(),
        Route::get("received_broadcasts", "/api/v1/broadcasts")
            .tag(BROADCASTS)
            .summary("The broadcasts you received: published to your municipality, for everyone or for your profession. Newest first.")
            .door(Door::Signed(&[Action::ReceiveBroadcasts]))
            .query::<BoardParams>()
            .service(SERVICE, ep::RECEIVED_BROADCASTS, |_, q, _| {
                Ok(ListBroadcasts {
                    after: q.after,
                    limit: q.limit,
                })
            })
            .reads_after()
            .answers_page::<BroadcastView>(200, "newest first")
            .into(),
        Route::get("broadcast_submissions", "/api/v1/broadcasts/submissions")
            .tag(BROADCASTS)
            .summary("The submissions you follow: your own (a site, an association), or every one of your municipality (the coordination centre). Newest first.")
            .door(FOLLOW)
            .query::<BoardParams>()
            .service(SERVICE, ep::BROADCAST_SUBMISSIONS, |_, q, _| {
                Ok(ListBroadcasts {
                    after: q.after,
                    limit: q.limit,
                })
            })
            .reads_after()
            .answers_page::<BroadcastView>(200, "newest first")
            .into(),
        Route::get("broadcast_history", "/api/v1/broadcasts/{broadcast_id}/history")
            .tag(BROADCASTS)
            .summary("A submission's history: each version submitted, each return with its reason, its publication. For its submitter and the centre.")
            .door(FOLLOW)
            .path::<BroadcastPath>()
            .service(SERVICE, ep::BROADCAST_HISTORY, |p, _, _| {
                Ok(ReadBroadcastHistory {
                    broadcast_id: p.broadcast_id,
                })
            })
            .reads_after()
            .answers::<BroadcastHistory>(200, "first step first")
            .problems(&[(404, "no such broadcast (or not one you follow)")])
            .into(),
        Route::post("review_broadcast", "/api/v1/broadcasts/{broadcast_id}/review")
            .tag(BROADCASTS)
            .summary("Publish a submission waiting for review, or return it with a reason: the coordination centre of its municipality.")
            .door(Door::Signed(&[Action::ReviewAssociationPosts]))
            .path::<BroadcastPath>()
            .body::<ReviewBody>()
            .service(SERVICE, ep::REVIEW_BROADCAST, |p, _, review| {
                Ok(ReviewBroadcast {
                    broadcast_id: p.broadcast_id,
                    review,
                })
            })
            .answers::<BroadcastAnswer>(200, "published or returned")
            .problems(&[
                (404, "no such broadcast (or not of your municipality)"),
                (409, "not waiting for review"),
                (422, "a return without a reason"),
            ])
            .into(),
        Route::post("revise_broadcast", "/api/v1/broadcasts/{broadcast_id}/revisions")
            .tag(BROADCASTS)
            .summary("Revise and resubmit a returned submission: its submitter only. The earlier version stays in its history.")
            .door(Door::Signed(&[Action::SubmitBroadcast]))
            .path::<BroadcastPath>()
            .body::<BroadcastRevision>()
            .service(SERVICE, ep::REVISE_BROADCAST, |p, _, revision| {
                Ok(ReviseBroadcast {
                    broadcast_id: p.broadcast_id,
                    revision,
                })
            })
            .answers::<BroadcastAnswer>(201, "resubmitted")
            .problems(&[
                (404, "no such broadcast (or not yours)"),
                (409, "not returned"),
                (422, "no title or text, too long, or an unknown profession"),
            ])
            .into(),
    ]
}

fn consultation_routes() -> Vec<Declared> {
    const EITHER: Door = Door::Signed(&[Action::OpenConsultation, Action::AnswerConsultation]);
    vec![
        Route::post("open_consultation", "/api/v1/consultations")
            .tag(CONSULTATIONS)
            .summary("Ask the coordination centre of your municipality, one to one. A patient named must be one you may read (decided and recorded).")
            .door(Door::Signed(&[Action::OpenConsultation]))
            .body::<NewConsultation>()
            .body_ids(const {
                &[doors::BodyId::held_by(
                    "/patient_id",
                    Object::Patient,
                    "a patient the asker may read, as the one access decision (in the service) says",
                )]
            })
            .service(SERVICE, ep::OPEN_CONSULTATION, |_, _, c| Ok(c))
            .answers::<ConsultationAnswer>(201, "opened")
            .problems(&[
                (403, "the patient's consent or team does not let you name them (recorded)"),
                (404, "no such patient"),
                (422, "no subject or question, or too long"),
            ])
            .into(),
        Route::get("list_consultations", "/api/v1/consultations")
            .tag(CONSULTATIONS)
            .summary("Your consultations; for the coordination centre, every one of its municipality. Newest first.")
            .door(EITHER)
            .query::<BoardParams>()
            .service(SERVICE, ep::LIST_CONSULTATIONS, |_, q, _| {
                Ok(ListConsultations {
                    after: q.after,
                    limit: q.limit,
                })
            })
            .reads_after()
            .answers_page::<ConsultationSummary>(200, "newest first")
            .into(),
        Route::get("read_consultation", "/api/v1/consultations/{consultation_id}")
            .tag(CONSULTATIONS)
            .summary("A consultation and its messages: for its asker and the centre. A patient it names is shown by name only where your access decision allows (recorded).")
            .door(EITHER)
            .path::<ConsultationPath>()
            .service(SERVICE, ep::READ_CONSULTATION, |p, _, _| {
                Ok(ConsultationRef {
                    consultation_id: p.consultation_id,
                })
            })
            .reads_after()
            .answers::<ConsultationView>(200, "the consultation")
            .problems(&[(404, "no such consultation (or not yours)")])
            .into(),
        Route::post(
            "answer_consultation",
            "/api/v1/consultations/{consultation_id}/messages",
        )
        .tag(CONSULTATIONS)
        .summary("Write in an open consultation: its asker, or any of the centre's staff.")
        .door(EITHER)
        .path::<ConsultationPath>()
        .body::<ConsultationMessageBody>()
        .service(SERVICE, ep::ANSWER_CONSULTATION, |p, _, b| {
            Ok(WriteInConsultation {
                consultation_id: p.consultation_id,
                text: b.text,
            })
        })
        .answers::<ConsultationAnswer>(201, "written")
        .problems(&[
            (404, "no such consultation (or not yours)"),
            (409, "closed"),
            (422, "an empty or too long message"),
        ])
        .into(),
        Route::post(
            "assign_consultation",
            "/api/v1/consultations/{consultation_id}/assignment",
        )
        .tag(CONSULTATIONS)
        .summary("Assign a consultation to one of the coordination centre's staff: the centre.")
        .door(Door::Signed(&[Action::AnswerConsultation]))
        .path::<ConsultationPath>()
        .body::<AssignmentBody>()
        .body_ids(const { &[doors::BodyId::own("/member_id", Object::Member)] })
        .service(SERVICE, ep::ASSIGN_CONSULTATION, |p, _, b| {
            Ok(AssignConsultation {
                consultation_id: p.consultation_id,
                member_id: b.member_id,
            })
        })
        .answers::<ConsultationAnswer>(200, "assigned")
        .problems(&[
            (404, "no such consultation (or not of your municipality)"),
            (409, "closed"),
            (422, "not a member of the centre (`/member_id`)"),
        ])
        .into(),
        Route::post(
            "close_consultation",
            "/api/v1/consultations/{consultation_id}/closure",
        )
        .tag(CONSULTATIONS)
        .summary("Close a consultation: its asker or the centre. Closing it again changes nothing.")
        .door(EITHER)
        .path::<ConsultationPath>()
        .service(SERVICE, ep::CLOSE_CONSULTATION, |p, _, _| {
            Ok(ConsultationRef {
                consultation_id: p.consultation_id,
            })
        })
        .answers::<ConsultationAnswer>(200, "closed")
        .problems(&[(404, "no such consultation (or not yours)")])
        .into(),
    ]
}

fn timeline_routes() -> Vec<Declared> {
    vec![
        Route::get("search_posts", "/api/v1/posts/search")
            .tag(TAG)
            .summary("Search the timelines of the patients whose team you are on, in Japanese (褥瘡 is found): newest first, only what the consent opens to you. Every patient a search shows a post of is recorded as read.")
            .door(Door::OwnAccount)
            .query::<SearchParams>()
            .service(SERVICE, ep::SEARCH_POSTS, |_, q, _| {
                Ok(SearchPosts {
                    q: q.q,
                    after: q.after,
                    limit: q.limit,
                })
            })
            .answers_page::<SearchHit>(200, "the posts found, newest first")
            .problems(&[(422, "no two letters side by side to search for")])
            .into(),
        Route::post("create_post", "/api/v1/patients/{patient_id}/posts")
            .tag(TAG)
            .summary("Post to the patient's timeline (報告・連絡・相談), with 至急 and 要返信 if needed: allowed when the consent covers the post's category for your seat on the team, and recorded.")
            .door(Door::Signed(&[Action::WritePatientClinical]))
            .path::<TimelinePath>()
            .body::<NewPost>()
            .body_ids(const {
                &[
                    doors::BodyId::held_by(
                        "/reply_to",
                        Object::Post,
                        "a post on the same patient's timeline, which the service checks",
                    ),
                    doors::BodyId::own("/attachments/*", Object::File),
                    doors::BodyId::held_by(
                        "/mentions/*",
                        Object::Member,
                        "a member of the patient's care team now (who may sit at another municipality's site on a wide-area team), which the service checks",
                    ),
                ]
            })
            .service(SERVICE, ep::CREATE_POST, |p, _, post| {
                Ok(CreatePost {
                    patient_id: p.patient_id,
                    post,
                })
            })
            .answers::<Posted>(201, "posted")
            .problems(&[
                (403, "the consent or the team does not allow it (recorded)"),
                (404, "no such patient"),
                (422, "an empty or too long post, an unknown category, or a file you did not upload (`/attachments/<i>`)"),
            ])
            .into(),
        // Answered by the gateway: the content streams from the file store.
        Route::get(
            "post_attachment",
            "/api/v1/patients/{patient_id}/posts/{post_id}/attachments/{sha256}",
        )
        .tag(TAG)
        .summary("A file attached to a post, streamed: decided as a read of the post's category, and recorded, before any of it leaves. A withdrawn post's files are not served.")
        .door(Door::PatientRead)
        .path::<AttachmentPath>()
        .query::<PostReadParams>()
        .reads_after()
        .answers_as(200, "the file; Content-Type is the type decided at upload", &[Content::of::<FileContent>("*/*")])
        .problems(&[
            (403, "the consent or the team does not allow it (recorded)"),
            (404, "no such patient, post or file on the post"),
        ])
        .into(),
        Route::get("team_people", "/api/v1/patients/{patient_id}/team/people")
            .tag(TAG)
            .summary("Everyone on the patient's care team now, by name, profession and site: whom a post may address (@). Decided as a read of the timeline, and recorded.")
            .door(Door::PatientRead)
            .path::<TimelinePath>()
            .service(SERVICE, ep::TEAM_PEOPLE, |p, _, _| {
                Ok(ReadTeamPeople {
                    patient_id: p.patient_id,
                })
            })
            .answers::<TeamPeople>(200, "the team's people")
            .problems(&[
                (403, "the consent or the team does not allow it (recorded)"),
                (404, "no such patient"),
            ])
            .into(),
        Route::get("read_timeline", "/api/v1/patients/{patient_id}/posts")
            .tag(TAG)
            .summary("The patient's timeline, newest first: the posts of the categories the consent opens to you. Every read, allowed or refused, is recorded.")
            .door(Door::PatientRead)
            .path::<TimelinePath>()
            .query::<TimelineParams>()
            .service(SERVICE, ep::READ_TIMELINE, |p, q, _| {
                Ok(ReadTimeline {
                    patient_id: p.patient_id,
                    after: q.after,
                    limit: q.limit,
                    purpose: q.purpose.unwrap_or(consent::Purpose::Care),
                })
            })
            .reads_after()
            .answers_page::<PostView>(200, "the newest posts first")
            .problems(&[
                (403, "the consent or the team does not allow it (recorded)"),
                (404, "no such patient"),
            ])
            .into(),
        Route::post(
            "record_receipt",
            "/api/v1/patients/{patient_id}/posts/{post_id}/receipt",
        )
        .tag(TAG)
        .summary("You read the post (既読), or acknowledge it with one tap (了解): decided as a read of the post's category, and recorded. Asking again changes nothing.")
        .door(Door::PatientRead)
        .path::<PostPath>()
        .body::<ReceiptBody>()
        .service(SERVICE, ep::RECORD_RECEIPT, |p, _, b| {
            Ok(RecordReceipt {
                patient_id: p.patient_id,
                post_id: p.post_id,
                acknowledged: b.acknowledged,
            })
        })
        .answers::<Receipt>(200, "where your receipt stands")
        .problems(&[
            (403, "the consent or the team does not allow it (recorded)"),
            (404, "no such patient or post"),
        ])
        .into(),
        Route::post(
            "edit_post",
            "/api/v1/patients/{patient_id}/posts/{post_id}/edits",
        )
        .tag(TAG)
        .summary("Change your post's text: decided as a write of its category, and recorded. The earlier texts stay in its history; a withdrawn post is not edited.")
        .door(Door::Signed(&[Action::WritePatientClinical]))
        .path::<PostPath>()
        .body::<PostEdit>()
        .service(SERVICE, ep::EDIT_POST, |p, _, b| {
            Ok(EditPost {
                patient_id: p.patient_id,
                post_id: p.post_id,
                text: b.text,
            })
        })
        .answers::<Edited>(201, "edited")
        .problems(&[
            (403, "not your post, or the consent or the team does not allow it (recorded)"),
            (404, "no such patient or post"),
            (409, "the post was withdrawn, has 100 texts already, or changed at the same time"),
            (422, "an empty or too long text"),
        ])
        .into(),
        Route::post(
            "retract_post",
            "/api/v1/patients/{patient_id}/posts/{post_id}/retraction",
        )
        .tag(TAG)
        .summary("Withdraw a post (取り消し): its author, or the secretariat of the patient's municipality with a reason. The post stays, marked withdrawn, with its history; asking again changes nothing. Decided and recorded.")
        .door(Door::PatientRead)
        .path::<PostPath>()
        .body::<RetractionBody>()
        .service(SERVICE, ep::RETRACT_POST, |p, _, b| {
            Ok(RetractPost {
                patient_id: p.patient_id,
                post_id: p.post_id,
                reason: b.reason,
            })
        })
        .answers::<Retracted>(200, "withdrawn")
        .problems(&[
            (403, "neither its author nor the secretariat, or the consent or the team does not allow it (recorded)"),
            (404, "no such patient or post"),
            (422, "no reason from the secretariat, or one too long"),
        ])
        .into(),
        Route::get(
            "post_history",
            "/api/v1/patients/{patient_id}/posts/{post_id}/history",
        )
        .tag(TAG)
        .summary("Every text a post had, first to last, and its withdrawal: for the team as the timeline is (decided as a read of the post's category, and recorded).")
        .door(Door::PatientRead)
        .path::<PostPath>()
        .query::<PostReadParams>()
        .service(SERVICE, ep::POST_HISTORY, |p, q, _| {
            Ok(ReadPostHistory {
                patient_id: p.patient_id,
                post_id: p.post_id,
                purpose: q.purpose.unwrap_or(consent::Purpose::Care),
            })
        })
        .reads_after()
        .answers::<PostHistory>(200, "the post's texts, first to last")
        .problems(&[
            (403, "the consent or the team does not allow it (recorded)"),
            (404, "no such patient or post"),
        ])
        .into(),
    ]
}
