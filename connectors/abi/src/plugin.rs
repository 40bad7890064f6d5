//! The plugin side: a safe [`Connector`] trait and the [`export_connector!`](crate::export_connector)
//! macro that writes the C glue around it.

use std::cell::Cell;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use crate::error::ConnectorError;
use crate::ffi::{
    ABI_VERSION, Buffer, ConnectorKind, ConnectorTable, STATUS_ERROR, STATUS_OK, StrRef,
    bytes_from_raw,
};

/// A connector, written in safe Rust. Export it with
/// [`export_connector!`](crate::export_connector).
///
/// An instance is shared across threads and may be invoked concurrently, hence `Send + Sync`.
pub trait Connector: Send + Sync + Sized + 'static {
    /// The name the host configuration refers to (e.g. `"fhir-r4"`).
    const NAME: &'static str;
    /// The connector's own version.
    const VERSION: &'static str;
    /// EHR feed or payer.
    const KIND: ConnectorKind;
    /// The operations [`Connector::invoke`] accepts; anything else is refused before it is called.
    const OPERATIONS: &'static [&'static str];

    /// Builds an instance from the `config` table of the host configuration.
    fn create(config: serde_json::Value) -> Result<Self, ConnectorError>;

    /// Runs operation `op` (one of [`Connector::OPERATIONS`]) on JSON `input`, returning JSON.
    fn invoke(&self, op: &str, input: &[u8]) -> Result<Vec<u8>, ConnectorError>;
}

/// Parses an operation's JSON input; failures become `invalid_input` errors that give the
/// position only (serde's messages can quote the offending value).
pub fn parse_input<T: serde::de::DeserializeOwned>(input: &[u8]) -> Result<T, ConnectorError> {
    Ok(serde_json::from_slice(input)?)
}

/// Serializes an operation's JSON output.
pub fn to_output<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ConnectorError> {
    serde_json::to_vec(value)
        .map_err(|_| ConnectorError::internal("output cannot be serialized as JSON"))
}

/// Builds the array of operation names for the static table. Used by the export macro.
#[doc(hidden)]
pub const fn operation_refs<const N: usize>(ops: &'static [&'static str]) -> [StrRef; N] {
    let mut out = [StrRef {
        ptr: std::ptr::null(),
        len: 0,
    }; N];
    let mut i = 0;
    while i < N {
        out[i] = StrRef::from_static(ops[i]);
        i += 1;
    }
    out
}

/// Builds the static table for `T`. Used by the export macro.
#[doc(hidden)]
pub const fn table<T: Connector>(operations: &'static [StrRef]) -> ConnectorTable {
    ConnectorTable {
        abi_version: ABI_VERSION,
        kind: T::KIND.as_u32(),
        name: StrRef::from_static(T::NAME),
        version: StrRef::from_static(T::VERSION),
        operations: operations.as_ptr(),
        operations_len: operations.len(),
        create: create_glue::<T>,
        invoke: invoke_glue::<T>,
        free_buffer: free_buffer_glue,
        destroy: destroy_glue::<T>,
    }
}

thread_local! {
    /// Whether this thread is inside a call from the host.
    static IN_HOST_CALL: Cell<bool> = const { Cell::new(false) };
}

/// Installs (once per plugin) a panic hook that, for panics inside a host call, reports only the
/// location: panic messages can quote input data (PHI) and would land in the service's stderr.
/// Panics elsewhere go to the previous hook unchanged.
fn install_quiet_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_HOST_CALL.try_with(Cell::get).unwrap_or(false) {
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                eprintln!("connector panicked{location}; message withheld (may contain PHI)");
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f` as a host call: panics are caught and reported without their message.
fn guarded<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    install_quiet_panic_hook();
    let outer = IN_HOST_CALL.with(|flag| flag.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_HOST_CALL.with(|flag| flag.set(outer));
    result
}

fn panic_error(during: &str) -> ConnectorError {
    // The panic payload is deliberately not forwarded: it may quote PHI from the input.
    ConnectorError::new(
        ConnectorError::CODE_PANIC,
        format!("connector panicked during {during}"),
    )
}

/// Writes `err` to `out` (if non-null) and returns [`STATUS_ERROR`].
///
/// # Safety
/// `out` must be null or valid for a write of one [`Buffer`].
unsafe fn write_error(out: *mut Buffer, err: &ConnectorError) -> i32 {
    if !out.is_null() {
        // SAFETY: non-null and the caller guarantees it is writable.
        unsafe { out.write(Buffer::from_vec(err.to_json())) };
    }
    STATUS_ERROR
}

/// # Safety
/// Follows [`crate::ffi::CreateFn`]: `config_ptr` points at `config_len` readable bytes (or is
/// null with length 0); `out_instance` and `out_error` are valid for writes.
unsafe extern "C" fn create_glue<T: Connector>(
    config_ptr: *const u8,
    config_len: usize,
    out_instance: *mut *mut c_void,
    out_error: *mut Buffer,
) -> i32 {
    if out_instance.is_null() {
        let err = ConnectorError::new(ConnectorError::CODE_ABI_VIOLATION, "null out_instance");
        // SAFETY: out_error is null or writable per the contract.
        return unsafe { write_error(out_error, &err) };
    }
    // SAFETY: the contract guarantees config_len readable bytes for the duration of the call.
    let config = unsafe { bytes_from_raw(config_ptr, config_len) };
    let result = guarded(|| {
        let value: serde_json::Value = if config.is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            // Only the position is reported: serde messages may quote config values (secrets).
            serde_json::from_slice(config).map_err(|e| {
                ConnectorError::invalid_config(format!(
                    "config is not valid JSON (line {} column {})",
                    e.line(),
                    e.column()
                ))
            })?
        };
        T::create(value)
    });
    match result {
        Ok(Ok(instance)) => {
            let raw = Box::into_raw(Box::new(instance)) as *mut c_void;
            // SAFETY: out_instance is non-null (checked above) and writable per the contract.
            unsafe { out_instance.write(raw) };
            STATUS_OK
        }
        // SAFETY: out_error is null or writable per the contract.
        Ok(Err(err)) => unsafe { write_error(out_error, &err) },
        // SAFETY: as above.
        Err(_) => unsafe { write_error(out_error, &panic_error("create")) },
    }
}

/// # Safety
/// Follows [`crate::ffi::InvokeFn`]: `instance` comes from `create_glue::<T>` and is not yet
/// destroyed; the input pointers are readable for their lengths; `out_buffer` is writable.
unsafe extern "C" fn invoke_glue<T: Connector>(
    instance: *const c_void,
    op_ptr: *const u8,
    op_len: usize,
    input_ptr: *const u8,
    input_len: usize,
    out_buffer: *mut Buffer,
) -> i32 {
    if out_buffer.is_null() {
        return STATUS_ERROR;
    }
    if instance.is_null() {
        let err = ConnectorError::new(ConnectorError::CODE_ABI_VIOLATION, "null instance");
        // SAFETY: out_buffer is non-null and writable per the contract.
        return unsafe { write_error(out_buffer, &err) };
    }
    // SAFETY: instance was made by create_glue::<T> from a Box<T> and is still alive.
    let connector: &T = unsafe { &*(instance as *const T) };
    // SAFETY: the contract guarantees op_len readable bytes for the duration of the call.
    let op = unsafe { bytes_from_raw(op_ptr, op_len) };
    // SAFETY: the contract guarantees input_len readable bytes for the duration of the call.
    let input = unsafe { bytes_from_raw(input_ptr, input_len) };

    let result = guarded(|| {
        let op = std::str::from_utf8(op).map_err(|_| {
            ConnectorError::new(
                ConnectorError::CODE_ABI_VIOLATION,
                "operation name is not UTF-8",
            )
        })?;
        if !T::OPERATIONS.contains(&op) {
            return Err(ConnectorError::unknown_operation(op));
        }
        connector.invoke(op, input)
    });
    match result {
        Ok(Ok(output)) => {
            // SAFETY: out_buffer is non-null (checked above) and writable per the contract.
            unsafe { out_buffer.write(Buffer::from_vec(output)) };
            STATUS_OK
        }
        // SAFETY: out_buffer is non-null and writable per the contract.
        Ok(Err(err)) => unsafe { write_error(out_buffer, &err) },
        // SAFETY: as above.
        Err(_) => unsafe { write_error(out_buffer, &panic_error("invoke")) },
    }
}

/// # Safety
/// `buffer` was written by this plugin's glue and is freed once.
unsafe extern "C" fn free_buffer_glue(buffer: Buffer) {
    // Freeing a boxed slice cannot panic, but keep the boundary panic-free regardless.
    // SAFETY: the contract guarantees the buffer came from Buffer::from_vec in this binary.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { buffer.free() }));
}

/// # Safety
/// `instance` comes from `create_glue::<T>`, is destroyed once, and no invoke is in flight.
unsafe extern "C" fn destroy_glue<T: Connector>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // SAFETY: instance was made by Box::into_raw(Box<T>) in create_glue::<T> and is dropped once.
    let boxed = unsafe { Box::from_raw(instance as *mut T) };
    // A panicking Drop must not unwind into the host.
    let _ = guarded(move || drop(boxed));
}

/// Exports a [`Connector`] as a plugin: defines the `revcycle_connector_v1` symbol and its static
/// table. Use it once, at the root of a `cdylib` crate.
///
/// ```
/// use revcycle_connector_abi::serde_json::Value;
/// use revcycle_connector_abi::{Connector, ConnectorError, ConnectorKind, export_connector};
///
/// pub struct Echo;
///
/// impl Connector for Echo {
///     const NAME: &'static str = "echo";
///     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
///     const KIND: ConnectorKind = ConnectorKind::Ehr;
///     const OPERATIONS: &'static [&'static str] = &["echo"];
///
///     fn create(_config: Value) -> Result<Self, ConnectorError> {
///         Ok(Echo)
///     }
///
///     fn invoke(&self, _op: &str, input: &[u8]) -> Result<Vec<u8>, ConnectorError> {
///         Ok(input.to_vec())
///     }
/// }
///
/// export_connector!(Echo);
/// ```
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        /// The plugin entry point: returns the static connector table.
        #[unsafe(no_mangle)]
        pub extern "C" fn revcycle_connector_v1() -> *const $crate::ffi::ConnectorTable {
            const OPS_LEN: usize = <$connector as $crate::Connector>::OPERATIONS.len();
            static OPS: [$crate::ffi::StrRef; OPS_LEN] = $crate::plugin::operation_refs::<OPS_LEN>(
                <$connector as $crate::Connector>::OPERATIONS,
            );
            static TABLE: $crate::ffi::ConnectorTable = $crate::plugin::table::<$connector>(&OPS);
            &TABLE
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Probe {
        prefix: String,
    }

    impl Connector for Probe {
        const NAME: &'static str = "probe";
        const VERSION: &'static str = "0.0.1";
        const KIND: ConnectorKind = ConnectorKind::Payer;
        const OPERATIONS: &'static [&'static str] = &["hello", "boom"];

        fn create(config: serde_json::Value) -> Result<Self, ConnectorError> {
            let prefix = config
                .get("prefix")
                .and_then(|v| v.as_str())
                .ok_or_else(|| ConnectorError::invalid_config("prefix is required"))?;
            Ok(Probe {
                prefix: prefix.to_owned(),
            })
        }

        fn invoke(&self, op: &str, input: &[u8]) -> Result<Vec<u8>, ConnectorError> {
            match op {
                "hello" => {
                    let mut out = self.prefix.clone().into_bytes();
                    out.extend_from_slice(input);
                    Ok(out)
                }
                _ => panic!("boom"),
            }
        }
    }

    export_connector!(Probe);

    #[test]
    fn json_helpers_do_not_quote_input() {
        let err = parse_input::<Vec<u32>>(br#"["123-45-6789"]"#).unwrap_err();
        assert_eq!(err.code, "invalid_input");
        assert!(!err.message.contains("6789"), "{err}");
        let v: Vec<u32> = parse_input(b"[1,2]").unwrap();
        assert_eq!(to_output(&v).unwrap(), b"[1,2]");
    }

    fn take(buf: Buffer) -> Vec<u8> {
        // SAFETY: the buffer was just written by the glue in this binary.
        let bytes = unsafe { buf.as_bytes() }.to_vec();
        // SAFETY: same origin, freed once.
        unsafe { free_buffer_glue(buf) };
        bytes
    }

    fn create(table: &ConnectorTable, config: &[u8]) -> Result<*mut c_void, ConnectorError> {
        let mut instance = std::ptr::null_mut();
        let mut err = Buffer::EMPTY;
        // SAFETY: valid pointers for the whole call.
        let status =
            unsafe { (table.create)(config.as_ptr(), config.len(), &mut instance, &mut err) };
        if status == STATUS_OK {
            Ok(instance)
        } else {
            Err(serde_json::from_slice(&take(err)).unwrap())
        }
    }

    fn invoke(table: &ConnectorTable, inst: *mut c_void, op: &str, input: &[u8]) -> (i32, Vec<u8>) {
        let mut out = Buffer::EMPTY;
        // SAFETY: instance is live; valid pointers for the whole call.
        let status = unsafe {
            (table.invoke)(
                inst,
                op.as_ptr(),
                op.len(),
                input.as_ptr(),
                input.len(),
                &mut out,
            )
        };
        (status, take(out))
    }

    #[test]
    fn glue_round_trips_and_contains_panics() {
        // SAFETY: the symbol defined by the macro above returns a static table.
        let table = unsafe { &*revcycle_connector_v1() };
        assert_eq!(table.abi_version, ABI_VERSION);
        assert_eq!(table.kind, ConnectorKind::Payer.as_u32());
        // SAFETY: static strings.
        assert_eq!(unsafe { table.name.as_str() }.unwrap(), "probe");
        assert_eq!(table.operations_len, 2);
        // SAFETY: operations points at operations_len static StrRefs.
        let ops = unsafe { std::slice::from_raw_parts(table.operations, table.operations_len) };
        // SAFETY: static strings.
        assert_eq!(unsafe { ops[1].as_str() }.unwrap(), "boom");

        let err = create(table, b"{}").unwrap_err();
        assert_eq!(err.code, "invalid_config");
        let err = create(table, b"{not json").unwrap_err();
        assert_eq!(err.code, "invalid_config");

        let inst = create(table, br#"{"prefix":">"}"#).unwrap();
        assert_eq!(
            invoke(table, inst, "hello", b"hi"),
            (STATUS_OK, b">hi".to_vec())
        );
        let (status, body) = invoke(table, inst, "boom", b"");
        assert_eq!(status, STATUS_ERROR);
        let err: ConnectorError = serde_json::from_slice(&body).unwrap();
        assert_eq!(err.code, "panic");
        let (status, body) = invoke(table, inst, "nope", b"");
        assert_eq!(status, STATUS_ERROR);
        let err: ConnectorError = serde_json::from_slice(&body).unwrap();
        assert_eq!(err.code, "unknown_operation");
        assert_eq!(
            invoke(table, inst, "hello", b""),
            (STATUS_OK, b">".to_vec())
        );
        // SAFETY: created above, destroyed once, nothing in flight.
        unsafe { (table.destroy)(inst) };
    }
}
