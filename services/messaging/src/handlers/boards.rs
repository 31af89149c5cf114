//! Boards: opened by a municipality's secretariat or coordination centre (the operator also
//! region-wide), read and posted to by those they are for, pinned by those who manage them.
//! Nothing here is patient data, so nothing is sealed or recorded as an access; who may read
//! a board is decided here (`domain::board`) from the caller the gateway verified.

use bus::{CallContext, Reply};
use event_store::{ExpectedVersion, Visibility};
use identity_api::organisations::{GetSite, SiteView};
use messaging_api::aggregates;
use messaging_api::boards::{
    BoardOpenedAnswer, BoardPage, BoardPostKind, BoardPostView, BoardSearchHit, BoardSearchPage,
    BoardView, BoardsPage, ListBoards, MAX_PINNED, NewBoard, PinBoardPost, Pinned, PostToBoard,
    ReadBoard, SearchBoards, SiteNamed,
};
use messaging_api::events::{BoardSite, MessagingEvent, PostAuthor};
use messaging_api::timeline::{PostAuthorView, Posted};
use permissions::Caller;
use problem::Problem;
use uuid::Uuid;

use super::{Messaging, after_id, cut, db_problem, page_limit, path_id, view_of};
use crate::domain::board::{self, Audience, Placed};
use crate::projections::boards::SCHEMA;

/// A board as its row holds it.
struct Stored {
    board_id: String,
    name: String,
    description: Option<String>,
    municipality: Option<String>,
    audience: Audience,
    sites: Vec<BoardSite>,
    opened_at: chrono::DateTime<chrono::Utc>,
    opened_by: PostAuthor,
}

const BOARD_COLUMNS: &str = "board_id, name, description, municipality, professions, sites,
                             opened_at, opened_by, fire_and_police";

/// The board columns with the table's alias `b`, for a query that joins posts to boards.
const BOARD_COLUMNS_B: &str = "b.board_id, b.name, b.description, b.municipality, b.professions,
                               b.sites, b.opened_at, b.opened_by, b.fire_and_police";

fn stored(row: &tokio_postgres::Row) -> Stored {
    stored_at(row, 0)
}

/// A board from `BOARD_COLUMNS`, starting at column `at` of `row`.
fn stored_at(row: &tokio_postgres::Row, at: usize) -> Stored {
    let sites: Vec<BoardSite> = serde_json::from_value(row.get(at + 5)).unwrap_or_default();
    Stored {
        board_id: row.get(at),
        name: row.get(at + 1),
        description: row.get(at + 2),
        municipality: row.get(at + 3),
        audience: Audience {
            professions: serde_json::from_value(row.get(at + 4)).unwrap_or_default(),
            sites: sites.iter().map(|s| s.site_id.clone()).collect(),
            fire_and_police: row.get(at + 8),
        },
        sites,
        opened_at: row.get(at + 6),
        opened_by: serde_json::from_value(row.get(at + 7)).unwrap_or_else(|_| PostAuthor {
            member_id: String::new(),
            name: String::new(),
            profession: None,
            site_id: None,
            site_name: None,
        }),
    }
}

/// The board as one caller sees it.
fn board_view(board: &Stored, caller: Option<&Caller>) -> BoardView {
    BoardView {
        board_id: board.board_id.clone(),
        name: board.name.clone(),
        description: board.description.clone(),
        municipality: board.municipality.clone(),
        everyone: board.audience.is_everyone(),
        fire_and_police: board.audience.fire_and_police,
        professions: board.audience.professions.clone(),
        sites: board
            .sites
            .iter()
            .map(|s| SiteNamed {
                site_id: s.site_id.clone(),
                name: s.name.clone(),
            })
            .collect(),
        manage: caller.is_none_or(|c| board::manages(c, board.municipality.as_deref())),
        opened_at: board.opened_at,
        opened_by: view_of(&board.opened_by),
    }
}

/// Whether the caller reads the board; the operator's own credential (no member) reads all.
fn reads(caller: Option<&Caller>, board: &Stored) -> bool {
    caller.is_none_or(|c| {
        board::reads(
            c,
            &Placed {
                municipality: board.municipality.as_deref(),
                audience: &board.audience,
            },
        )
    })
}

/// A board's events are its municipality's, or the region's for a region-wide board.
fn visibility_of(municipality: &Option<String>) -> Visibility {
    match municipality {
        Some(_) => Visibility::Municipality,
        None => Visibility::Region,
    }
}

fn no_such_board() -> Problem {
    Problem::not_found("no such board")
}

const POST_COLUMNS: &str = "post_id, kind, text, author_member_id, author_name, author_profession,
                            author_site_name, posted_at, reply_to, pinned_at";

fn post_view(row: &tokio_postgres::Row, me: &str) -> BoardPostView {
    let author: String = row.get(3);
    BoardPostView {
        post_id: row.get(0),
        kind: BoardPostKind::named(row.get(1)).unwrap_or_default(),
        text: row.get(2),
        mine: author == me,
        author: PostAuthorView {
            member_id: author,
            name: row.get(4),
            profession: row.get(5),
            site_name: row.get(6),
        },
        posted_at: row.get(7),
        reply_to: row.get(8),
        pinned: row
            .get::<_, Option<chrono::DateTime<chrono::Utc>>>(9)
            .is_some(),
    }
}

impl Messaging {
    /// The board, once the projection holds what was stored so far if it was not found at once.
    async fn board(&self, board_id: &str) -> Result<Option<Stored>, Problem> {
        let row = self
            .row_of(
                SCHEMA,
                &format!("SELECT {BOARD_COLUMNS} FROM boards.boards WHERE board_id = $1"),
                &[&board_id],
            )
            .await?;
        Ok(row.as_ref().map(stored))
    }

    /// A board the caller reads, or 404 (another municipality's board answers as none).
    async fn readable_board(&self, ctx: &CallContext, board_id: &str) -> Result<Stored, Problem> {
        let board_id = path_id(board_id, "board")?;
        match self.board(&board_id).await? {
            Some(board) if reads(ctx.caller.as_ref(), &board) => Ok(board),
            _ => Err(no_such_board()),
        }
    }

    pub(super) async fn open_board(
        &self,
        ctx: &CallContext,
        b: NewBoard,
    ) -> Result<Reply, Problem> {
        let board = board::checked(b).map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        let caller = ctx.caller.as_ref();
        let allowed = match (&board.municipality, caller) {
            // The operator's own credential.
            (_, None) => true,
            (None, Some(c)) => c.subject.has_role(permissions::Role::Operator),
            (Some(m), Some(c)) => board::manages(c, Some(m)),
        };
        if !allowed {
            return Err(Problem::forbidden(match board.municipality {
                None => "a region-wide board is opened by the operator",
                Some(_) => {
                    "a board is opened by its municipality's secretariat or coordination centre"
                }
            }));
        }
        // Each site of the audience, by name, of the board's municipality (any, region-wide).
        let mut sites = Vec::with_capacity(board.audience.sites.len());
        for (i, site_id) in board.audience.sites.iter().enumerate() {
            let no_such_site =
                || Problem::invalid_field(format!("/sites/{i}"), "no site has this id");
            let site: SiteView = match self
                .ask_identity(
                    ctx,
                    identity_api::endpoints::GET_SITE,
                    &GetSite {
                        site_id: site_id.clone(),
                    },
                )
                .await
            {
                Ok(site) => site,
                Err(p) if p.status == 404 => return Err(no_such_site()),
                Err(p) => return Err(p),
            };
            if board
                .municipality
                .as_ref()
                .is_some_and(|m| *m != site.home_municipality.code)
            {
                return Err(no_such_site());
            }
            sites.push(BoardSite {
                site_id: site.site_id,
                name: site.name,
            });
        }
        let opened_by = self.author(ctx).await?;
        let board_id = Uuid::now_v7().to_string();
        let visibility = visibility_of(&board.municipality);
        let municipality = board.municipality.clone();
        let (position, _) = self
            .append_as(
                ctx,
                visibility,
                aggregates::BOARD,
                &board_id,
                ExpectedVersion::NoStream,
                MessagingEvent::BoardOpened {
                    board_id: board_id.clone(),
                    name: board.name,
                    description: board.description,
                    municipality: board.municipality,
                    professions: board.audience.professions,
                    sites,
                    fire_and_police: board.audience.fire_and_police,
                    opened_by,
                },
                municipality,
            )
            .await?;
        Ok(Reply::written(BoardOpenedAnswer { board_id }, position))
    }

    pub(super) async fn list_boards(
        &self,
        ctx: &CallContext,
        q: ListBoards,
    ) -> Result<Reply, Problem> {
        let limit = page_limit(q.limit)?;
        let after = after_id(q.after.as_deref())?;
        self.caught_up_in(ctx, SCHEMA).await?;
        let caller = ctx.caller.as_ref();
        let everywhere = caller.is_none_or(|c| c.subject.has_role(permissions::Role::Operator));
        let municipality = caller.and_then(|c| c.municipality.clone());
        let rows = self
            .pool
            .get()
            .await
            .map_err(db_problem)?
            .query(
                &format!(
                    "SELECT {BOARD_COLUMNS} FROM boards.boards
                      WHERE ($1 OR municipality IS NULL OR municipality = $2)
                        AND ($3::text IS NULL OR board_id > $3)
                      ORDER BY board_id LIMIT $4"
                ),
                &[&everywhere, &municipality, &after, &(i64::from(limit) + 1)],
            )
            .await
            .map_err(db_problem)?;
        let (rows, next_after) = cut(&rows, limit);
        let items = rows
            .iter()
            .map(stored)
            .filter(|b| reads(caller, b))
            .map(|b| board_view(&b, caller))
            .collect();
        Ok(Reply::value(BoardsPage { items, next_after }))
    }

    /// Posts of the boards the caller reads holding every word of the query, newest first:
    /// the bigrams narrow through the index, the board's audience and the words themselves
    /// decide.
    pub(super) async fn search_boards(
        &self,
        ctx: &CallContext,
        q: SearchBoards,
    ) -> Result<Reply, Problem> {
        let limit = page_limit(q.limit)?;
        let after = after_id(q.after.as_deref())?;
        let terms = japanese::search::bigrams(&q.q);
        if terms.is_empty() {
            return Err(Problem::invalid_field(
                "/q",
                "search for a word of two characters or more",
            ));
        }
        self.caught_up_in(ctx, SCHEMA).await?;
        let caller = ctx.caller.as_ref();
        let everywhere = caller.is_none_or(|c| c.subject.has_role(permissions::Role::Operator));
        let municipality = caller.and_then(|c| c.municipality.clone());
        let client = self.pool.get().await.map_err(db_problem)?;
        let me = Self::me(ctx);
        let mut items = Vec::new();
        let mut cursor = after;
        let mut next_after = None;
        // Candidates a batch at a time: a board not for the caller, or a post holding the
        // bigrams but not the words, is passed over until the page is full.
        'pages: loop {
            let rows = client
                .query(
                    &format!(
                        "SELECT {POST_COLUMNS}, {BOARD_COLUMNS_B}
                           FROM boards.board_posts p JOIN boards.boards b USING (board_id)
                          WHERE p.terms @> $1
                            AND ($2 OR b.municipality IS NULL OR b.municipality = $3)
                            AND ($4::text IS NULL OR p.post_id < $4)
                          ORDER BY p.post_id DESC LIMIT 200"
                    ),
                    &[&terms, &everywhere, &municipality, &cursor],
                )
                .await
                .map_err(db_problem)?;
            for row in &rows {
                let board = stored_at(row, 10);
                let post = post_view(row, &me);
                cursor = Some(post.post_id.clone());
                if !reads(caller, &board) || !japanese::search::holds(&post.text, &q.q) {
                    continue;
                }
                if items.len() == limit as usize {
                    next_after = items
                        .last()
                        .map(|h: &BoardSearchHit| h.post.post_id.clone());
                    break 'pages;
                }
                items.push(BoardSearchHit {
                    board_id: board.board_id.clone(),
                    board_name: board.name.clone(),
                    post,
                });
            }
            if rows.len() < 200 {
                break;
            }
        }
        Ok(Reply::value(BoardSearchPage { items, next_after }))
    }

    pub(super) async fn read_board(
        &self,
        ctx: &CallContext,
        q: ReadBoard,
    ) -> Result<Reply, Problem> {
        let limit = page_limit(q.limit)?;
        let after = after_id(q.after.as_deref())?;
        self.caught_up_in(ctx, SCHEMA).await?;
        let board = self.readable_board(ctx, &q.board_id).await?;
        let client = self.pool.get().await.map_err(db_problem)?;
        let pinned = client
            .query(
                &format!(
                    "SELECT {POST_COLUMNS} FROM boards.board_posts
                      WHERE board_id = $1 AND pinned_at IS NOT NULL
                      ORDER BY pinned_at DESC LIMIT {MAX_PINNED}"
                ),
                &[&board.board_id],
            )
            .await
            .map_err(db_problem)?;
        let rows = client
            .query(
                &format!(
                    "SELECT {POST_COLUMNS} FROM boards.board_posts
                      WHERE board_id = $1 AND ($2::text IS NULL OR post_id < $2)
                      ORDER BY post_id DESC LIMIT $3"
                ),
                &[&board.board_id, &after, &(i64::from(limit) + 1)],
            )
            .await
            .map_err(db_problem)?;
        let me = Self::me(ctx);
        let (rows, next_after) = cut(&rows, limit);
        Ok(Reply::value(BoardPage {
            board: board_view(&board, ctx.caller.as_ref()),
            pinned: pinned.iter().map(|r| post_view(r, &me)).collect(),
            items: rows.iter().map(|r| post_view(r, &me)).collect(),
            next_after,
        }))
    }

    pub(super) async fn post_to_board(
        &self,
        ctx: &CallContext,
        c: PostToBoard,
    ) -> Result<Reply, Problem> {
        let board = self.readable_board(ctx, &c.board_id).await?;
        let post = board::post(c.post).map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        // A reply joins the thread of the post it answers, on this board only.
        let thread = match &post.reply_to {
            None => None,
            Some(parent) => {
                self.settled_in(SCHEMA).await?;
                let row = self
                    .pool
                    .get()
                    .await
                    .map_err(db_problem)?
                    .query_opt(
                        "SELECT coalesce(reply_to, post_id) FROM boards.board_posts
                          WHERE post_id = $1 AND board_id = $2",
                        &[parent, &board.board_id],
                    )
                    .await
                    .map_err(db_problem)?;
                Some(row.map(|r| r.get::<_, String>(0)).ok_or_else(|| {
                    Problem::invalid_field("/reply_to", "no post on this board has this id")
                })?)
            }
        };
        let author = self.author(ctx).await?;
        let post_id = Uuid::now_v7().to_string();
        let visibility = visibility_of(&board.municipality);
        let (position, _) = self
            .append_as(
                ctx,
                visibility,
                aggregates::BOARD_POST,
                &post_id,
                ExpectedVersion::NoStream,
                MessagingEvent::BoardPostCreated {
                    post_id: post_id.clone(),
                    board_id: board.board_id.clone(),
                    author,
                    kind: post.kind.as_str().to_owned(),
                    text: post.text,
                    reply_to: thread,
                },
                board.municipality.clone(),
            )
            .await?;
        Ok(Reply::written(Posted { post_id }, position))
    }

    pub(super) async fn pin_board_post(
        &self,
        ctx: &CallContext,
        c: PinBoardPost,
    ) -> Result<Reply, Problem> {
        let board = self.readable_board(ctx, &c.board_id).await?;
        if let Some(caller) = &ctx.caller
            && !board::manages(caller, board.municipality.as_deref())
        {
            return Err(Problem::forbidden(
                "the board's municipality's secretariat or coordination centre pins its posts",
            ));
        }
        let post_id = path_id(&c.post_id, "post")?;
        self.settled_in(SCHEMA).await?;
        let client = self.pool.get().await.map_err(db_problem)?;
        let row = client
            .query_opt(
                "SELECT pinned_at IS NOT NULL, sequence,
                        (SELECT count(*) FROM boards.board_posts p
                          WHERE p.board_id = $2 AND p.pinned_at IS NOT NULL)
                   FROM boards.board_posts WHERE post_id = $1 AND board_id = $2",
                &[&post_id, &board.board_id],
            )
            .await
            .map_err(db_problem)?
            .ok_or_else(|| Problem::not_found("no such post"))?;
        let (pinned_now, sequence, pinned_count): (bool, i64, i64) =
            (row.get(0), row.get(1), row.get(2));
        if pinned_now == c.pinned {
            return Ok(Reply::value(Pinned {
                post_id,
                pinned: c.pinned,
            }));
        }
        if c.pinned && pinned_count >= MAX_PINNED as i64 {
            return Err(Problem::conflict(
                "too-many-pinned",
                format!("{MAX_PINNED} posts are pinned already; unpin one first"),
            ));
        }
        let by = self.author(ctx).await?;
        let visibility = visibility_of(&board.municipality);
        let (position, _) = self
            .append_as(
                ctx,
                visibility,
                aggregates::BOARD_POST,
                &post_id,
                ExpectedVersion::Exact(u64::try_from(sequence).unwrap_or(0)),
                MessagingEvent::BoardPostPinned {
                    post_id: post_id.clone(),
                    board_id: board.board_id.clone(),
                    pinned: c.pinned,
                    by,
                },
                board.municipality.clone(),
            )
            .await?;
        Ok(Reply::written(
            Pinned {
                post_id,
                pinned: c.pinned,
            },
            position,
        ))
    }
}
