//! What the directory decides, pure: a status as a site may say it, how fresh it is, who
//! may say it for a site.

pub mod availability;
