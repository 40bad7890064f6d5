//! What stops a command or the server from starting: a file, the database, the keys, or a
//! setting refused.

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Core(#[from] revcycle_core::error::CoreError),
    #[error("{0}")]
    Phi(#[from] revcycle_core::phi::PhiError),
    #[error("{0}")]
    Refused(String),
}
