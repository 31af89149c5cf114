//! What the messaging service decides by itself, purely: whether a post or a board is one,
//! and who reads a board. Whether a member may write to a patient's timeline is the access
//! decision's (asked of identity & consent).

pub mod board;
pub mod broadcast;
pub mod consultation;
pub mod post;
