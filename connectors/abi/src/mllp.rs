//! MLLP framing (HL7 Minimal Lower Layer Protocol, release 2): a message travels as
//! `VT (0x0B)`, the message bytes, `FS (0x1C)`, `CR (0x0D)`.
//!
//! Pure and I/O-free so a TCP server can use it with any runtime: [`frame`] wraps an outgoing
//! message, [`Deframer`] collects incoming bytes and yields complete messages. This module has
//! no dependency on the rest of the crate: the host's listener and plugins share it.

/// Start block (vertical tab).
pub const START_BLOCK: u8 = 0x0b;
/// End block (file separator).
pub const END_BLOCK: u8 = 0x1c;
/// Carriage return that follows the end block.
pub const CARRIAGE_RETURN: u8 = 0x0d;

/// The default largest message the [`Deframer`] accepts: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;

/// Wraps one message in an MLLP frame.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START_BLOCK);
    out.extend_from_slice(message);
    out.push(END_BLOCK);
    out.push(CARRIAGE_RETURN);
    out
}

/// Incremental MLLP decoder: [`push`](Deframer::push) bytes as they arrive, then
/// [`pop`](Deframer::pop) complete messages (without the framing bytes).
///
/// Resynchronisation: bytes outside a frame (before a start block) are discarded; a start block
/// inside an unfinished frame abandons that frame and starts a new one; a frame longer than the
/// limit is abandoned and its bytes discarded up to the next start block. A message is complete
/// at its end block; the CR after it is expected but not required.
/// [`discarded`](Deframer::discarded) counts the bytes dropped.
#[derive(Debug)]
pub struct Deframer {
    /// Bytes of the current frame after its start block.
    current: Vec<u8>,
    in_frame: bool,
    /// The previous byte ended a frame (a CR may follow).
    after_end: bool,
    max_len: usize,
    ready: std::collections::VecDeque<Vec<u8>>,
    discarded: u64,
}

impl Default for Deframer {
    fn default() -> Self {
        Self::new()
    }
}

impl Deframer {
    /// A deframer accepting messages up to [`DEFAULT_MAX_MESSAGE_LEN`].
    pub fn new() -> Self {
        Self::with_max_len(DEFAULT_MAX_MESSAGE_LEN)
    }

    /// A deframer accepting messages up to `max_len` bytes.
    pub fn with_max_len(max_len: usize) -> Self {
        Deframer {
            current: Vec::new(),
            in_frame: false,
            after_end: false,
            max_len,
            ready: Default::default(),
            discarded: 0,
        }
    }

    /// Feeds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push_byte(b);
        }
    }

    fn push_byte(&mut self, b: u8) {
        if std::mem::take(&mut self.after_end) && b == CARRIAGE_RETURN {
            // The CR that closes a frame.
            return;
        }
        if b == START_BLOCK {
            if self.in_frame {
                self.discarded += self.current.len() as u64 + 1;
                self.current.clear();
            }
            self.in_frame = true;
            return;
        }
        if !self.in_frame {
            self.discarded += 1;
            return;
        }
        if b == END_BLOCK {
            // The message is complete at FS; a CR is expected next but not required.
            self.ready.push_back(std::mem::take(&mut self.current));
            self.in_frame = false;
            self.after_end = true;
            return;
        }
        if self.current.len() >= self.max_len {
            // Too long: drop it and wait for the next start block.
            self.discarded += self.current.len() as u64 + 2;
            self.current = Vec::new();
            self.in_frame = false;
            return;
        }
        self.current.push(b);
    }

    /// The next complete message, oldest first.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        self.ready.pop_front()
    }

    /// Bytes dropped so far while resynchronising.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Bytes of an unfinished frame held so far.
    pub fn pending_len(&self) -> usize {
        self.current.len()
    }

    /// Whether a frame has been started and not finished.
    pub fn in_frame(&self) -> bool {
        self.in_frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(d: &mut Deframer) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| d.pop()).collect()
    }

    #[test]
    fn frames() {
        assert_eq!(frame(b"MSH|x"), b"\x0bMSH|x\x1c\x0d");
        assert_eq!(frame(b""), b"\x0b\x1c\x0d");
    }

    #[test]
    fn one_message_split_across_pushes() {
        let framed = frame(b"MSH|^~\\&|A\rPID|1");
        for split in 0..=framed.len() {
            let mut d = Deframer::new();
            d.push(&framed[..split]);
            let mut got = drain(&mut d);
            d.push(&framed[split..]);
            got.extend(drain(&mut d));
            assert_eq!(
                got,
                vec![b"MSH|^~\\&|A\rPID|1".to_vec()],
                "split at {split}"
            );
            assert_eq!(d.discarded(), 0, "split at {split}");
            assert!(!d.in_frame());
        }
    }

    #[test]
    fn two_messages_in_one_push() {
        let mut d = Deframer::new();
        let mut bytes = frame(b"ONE");
        bytes.extend(frame(b"TWO"));
        d.push(&bytes);
        assert_eq!(drain(&mut d), vec![b"ONE".to_vec(), b"TWO".to_vec()]);
        assert_eq!(d.discarded(), 0);
    }

    #[test]
    fn garbage_before_start_is_skipped() {
        let mut d = Deframer::new();
        d.push(b"\r\nnoise\x1c\r");
        assert_eq!(d.pop(), None);
        d.push(&frame(b"MSG"));
        assert_eq!(drain(&mut d), vec![b"MSG".to_vec()]);
        assert_eq!(d.discarded(), 9);
    }

    #[test]
    fn restart_inside_a_frame_drops_the_partial_one() {
        let mut d = Deframer::new();
        d.push(b"\x0bPART");
        d.push(&frame(b"WHOLE"));
        assert_eq!(drain(&mut d), vec![b"WHOLE".to_vec()]);
        assert_eq!(d.discarded(), 5);
    }

    #[test]
    fn end_block_without_cr_still_ends() {
        let mut d = Deframer::new();
        d.push(b"\x0bA\x1c\x0bB\x1c\r");
        assert_eq!(drain(&mut d), vec![b"A".to_vec(), b"B".to_vec()]);
        // A message is delivered at FS; the CR arriving later is swallowed quietly.
        d.push(b"\x0bC\x1c");
        assert_eq!(drain(&mut d), vec![b"C".to_vec()]);
        d.push(b"\r");
        assert_eq!(d.discarded(), 0);
        d.push(&frame(b"D"));
        assert_eq!(drain(&mut d), vec![b"D".to_vec()]);
    }

    #[test]
    fn oversized_frames_are_dropped() {
        let mut d = Deframer::with_max_len(4);
        d.push(b"\x0b123456789\x1c\r");
        assert_eq!(d.pop(), None);
        d.push(&frame(b"1234"));
        assert_eq!(drain(&mut d), vec![b"1234".to_vec()]);
        assert!(d.discarded() > 0);
    }
}
