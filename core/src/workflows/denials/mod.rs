//! Denials as work items: created by the posting that found them (in its transaction), then
//! worked one step at a time, each step in the claim's history and in the caller's audit event
//! in the same transaction.

pub mod appeals;
pub mod letter;
pub mod queue;
pub mod recording;
pub mod resolution;
pub mod resubmission;
pub mod steps;
pub mod write_off;

pub use appeals::{AppealInput, AppealOutcomeInput, DenialAppealed};
pub use letter::{AppealLetter, RenderedLetter, appeal_letter, appeal_letter_with_template};
pub use queue::{QueueCriteria, QueueSort};
pub use recording::record_posted;
pub use resubmission::{CorrectedClaimInput, DenialResubmission, Resubmit, VoidClaimInput};
pub use steps::{
    ASSIGNEE_MAX_CHARS, NOTE_MAX_CHARS, add_note, assign, change_status, check_assignee,
    check_note, detail, set_follow_up,
};
pub use write_off::{DenialWriteOff, write_off};
