//! What the messaging service decides by itself, purely: whether a post is one. Whether the
//! member may write it is the access decision's (asked of identity & consent).

pub mod post;
