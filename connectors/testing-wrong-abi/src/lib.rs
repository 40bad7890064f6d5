//! Test fixture: a plugin from a future ABI. Only the leading `abi_version` field is shared by
//! every ABI version, so that is all this table has; the host must stop after reading it.

#[repr(C)]
pub struct FutureTable {
    pub abi_version: u32,
}

static TABLE: FutureTable = FutureTable { abi_version: 999 };

/// Entry point with the right name and the wrong version.
#[unsafe(no_mangle)]
pub extern "C" fn revcycle_connector_v1() -> *const FutureTable {
    &TABLE
}
