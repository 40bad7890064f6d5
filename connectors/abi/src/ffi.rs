//! The C ABI between the host and a connector plugin, version 1.
//!
//! A plugin is a `cdylib` exporting exactly one symbol, [`SYMBOL_NAME`], of type
//! [`EntryPoint`]. It returns a pointer to a static [`ConnectorTable`] that lives as long as the
//! library stays loaded. The host reads [`ConnectorTable::abi_version`] first and must not touch
//! any other field unless it equals [`ABI_VERSION`]: later versions may change the layout behind
//! it.
//!
//! Calling convention:
//! - Strings are UTF-8 passed as pointer + length ([`StrRef`]), never NUL-terminated.
//! - Every payload is JSON bytes. On success `invoke` writes its JSON output to `out_buffer`; on
//!   failure `create` and `invoke` write a JSON [`ConnectorError`](crate::ConnectorError)
//!   (`{"code": ..., "message": ...}`) to their out buffer and return a non-zero status.
//! - A [`Buffer`] written by the plugin belongs to the plugin's allocator: the host copies it and
//!   hands it back to [`ConnectorTable::free_buffer`], never to its own allocator.
//! - An instance is shared across threads: `invoke` may be called concurrently on one instance.
//!   `destroy` is called exactly once, after every `invoke` on that instance has returned.
//! - No panic or foreign exception ever crosses these functions.

use std::ffi::c_void;

/// The ABI version described by this module. A plugin reporting another version is refused.
pub const ABI_VERSION: u32 = 1;

/// The name of the one symbol a plugin exports.
pub const SYMBOL_NAME: &str = "revcycle_connector_v1";

/// [`SYMBOL_NAME`] with its NUL terminator, as dynamic loaders want it.
pub const SYMBOL_NAME_NUL: &[u8] = b"revcycle_connector_v1\0";

/// Call succeeded; the out buffer (if any) holds the JSON result.
pub const STATUS_OK: i32 = 0;
/// Call failed; the out buffer holds a JSON `{code, message}` error.
pub const STATUS_ERROR: i32 = 1;

/// The type of the exported [`SYMBOL_NAME`] function.
pub type EntryPoint = unsafe extern "C" fn() -> *const ConnectorTable;

/// Creates an instance from JSON configuration bytes.
///
/// On [`STATUS_OK`] `*out_instance` holds an opaque, non-null instance pointer; on failure
/// `*out_error` holds a JSON error buffer.
pub type CreateFn = unsafe extern "C" fn(
    config_ptr: *const u8,
    config_len: usize,
    out_instance: *mut *mut c_void,
    out_error: *mut Buffer,
) -> i32;

/// Invokes an operation on an instance: JSON input bytes in, JSON bytes (result or error) out.
pub type InvokeFn = unsafe extern "C" fn(
    instance: *const c_void,
    op_ptr: *const u8,
    op_len: usize,
    input_ptr: *const u8,
    input_len: usize,
    out_buffer: *mut Buffer,
) -> i32;

/// Frees a buffer the plugin wrote. Accepts an empty buffer (null pointer) as a no-op.
pub type FreeBufferFn = unsafe extern "C" fn(buffer: Buffer);

/// Destroys an instance made by [`CreateFn`].
pub type DestroyFn = unsafe extern "C" fn(instance: *mut c_void);

/// A borrowed UTF-8 string: pointer and length in bytes (no NUL terminator).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StrRef {
    pub ptr: *const u8,
    pub len: usize,
}

// SAFETY: a StrRef only ever points at immutable 'static data (string literals in the plugin's
// table), so sharing it across threads is sound.
unsafe impl Sync for StrRef {}
// SAFETY: see the Sync impl above; the pointee is immutable and never freed while loaded.
unsafe impl Send for StrRef {}

impl StrRef {
    /// A reference to a `'static` string.
    pub const fn from_static(s: &'static str) -> Self {
        Self {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// Reads the string back.
    ///
    /// # Safety
    /// `ptr` must point at `len` readable bytes that stay valid for `'a`.
    pub unsafe fn as_str<'a>(&self) -> Result<&'a str, std::str::Utf8Error> {
        // SAFETY: the caller guarantees the bytes are valid for 'a.
        let bytes = unsafe { bytes_from_raw(self.ptr, self.len) };
        std::str::from_utf8(bytes)
    }
}

/// A byte buffer allocated by the plugin. Return it to the plugin's `free_buffer`.
#[repr(C)]
#[derive(Debug)]
pub struct Buffer {
    pub ptr: *mut u8,
    pub len: usize,
}

impl Buffer {
    /// The empty buffer (null pointer, length 0).
    pub const EMPTY: Buffer = Buffer {
        ptr: std::ptr::null_mut(),
        len: 0,
    };

    /// Hands ownership of `bytes` over to a raw buffer (free it with [`Buffer::free`]).
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        let boxed: Box<[u8]> = bytes.into_boxed_slice();
        let len = boxed.len();
        let ptr = Box::into_raw(boxed) as *mut u8;
        Buffer { ptr, len }
    }

    /// Frees a buffer made by [`Buffer::from_vec`] in the same binary. A null buffer is a no-op.
    ///
    /// # Safety
    /// The buffer must come from [`Buffer::from_vec`] in this same binary and not be freed twice.
    pub unsafe fn free(self) {
        if self.ptr.is_null() {
            return;
        }
        let slice = std::ptr::slice_from_raw_parts_mut(self.ptr, self.len);
        // SAFETY: the caller guarantees ptr/len come from Box::<[u8]>::into_raw in from_vec.
        drop(unsafe { Box::from_raw(slice) });
    }

    /// Views the bytes.
    ///
    /// # Safety
    /// `ptr` must be null or point at `len` readable bytes valid for `'a`.
    pub unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        // SAFETY: forwarded to the caller.
        unsafe { bytes_from_raw(self.ptr, self.len) }
    }
}

/// The kind of system a connector talks to, as stored in [`ConnectorTable::kind`].
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    /// An EHR feed (patients, coverage, encounters).
    Ehr = 1,
    /// A payer or clearinghouse (claims, remittances, eligibility, status).
    Payer = 2,
}

impl ConnectorKind {
    /// The raw table value.
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// Parses a raw table value.
    pub const fn from_u32(raw: u32) -> Option<Self> {
        match raw {
            1 => Some(Self::Ehr),
            2 => Some(Self::Payer),
            _ => None,
        }
    }

    /// `"ehr"` or `"payer"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ehr => "ehr",
            Self::Payer => "payer",
        }
    }
}

/// The static table a plugin exports. `abi_version` must stay the first field in every version.
#[repr(C)]
pub struct ConnectorTable {
    /// Always [`ABI_VERSION`] for this layout.
    pub abi_version: u32,
    /// [`ConnectorKind`] as a raw value: 1 = ehr, 2 = payer.
    pub kind: u32,
    /// The connector's name; the host refuses a plugin whose name differs from its configuration.
    pub name: StrRef,
    /// The connector's own version (free text, e.g. semver).
    pub version: StrRef,
    /// Pointer to `operations_len` operation names.
    pub operations: *const StrRef,
    pub operations_len: usize,
    pub create: CreateFn,
    pub invoke: InvokeFn,
    pub free_buffer: FreeBufferFn,
    pub destroy: DestroyFn,
}

// SAFETY: the table is immutable static data; its raw pointers only point at other immutable
// statics of the same library.
unsafe impl Sync for ConnectorTable {}

/// Builds a byte slice from a raw pointer that may be null when `len == 0`.
///
/// # Safety
/// If `len > 0`, `ptr` must point at `len` readable bytes valid for `'a`.
pub(crate) unsafe fn bytes_from_raw<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: non-null and the caller guarantees len readable bytes for 'a.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}
