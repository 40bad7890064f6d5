//! Test fixture: a valid shared library without the connector entry point.

/// Some other export, so the library is not empty.
#[unsafe(no_mangle)]
pub extern "C" fn revcycle_not_a_connector() -> u32 {
    42
}
