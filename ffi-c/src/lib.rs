//! C ABI for realm-metrics (library name `realm_metrics`, header `include/realm_metrics.h`).
//!
//! Conventions (rustls-ffi style; see `ffi-c/README.md`): opaque handles created by
//! `realm_metrics_new` and freed by `realm_metrics_free` (NULL accepted); every fallible function
//! returns a [`realm_metrics_status`] with an explicit, never reused value (0 = OK); out-params
//! are written only on success; every entry point checks NULL, validates UTF-8 and catches
//! panics; all functions are thread-safe.
#![allow(non_camel_case_types)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod catalog;
mod emitter;
mod encode;
mod status;

pub use catalog::*;
pub use emitter::*;
pub use encode::*;
pub use status::*;

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Run `f`, turning a panic into [`realm_metrics_status::REALM_METRICS_PANIC`].
#[inline(always)]
pub(crate) fn guard(f: impl FnOnce() -> realm_metrics_status) -> realm_metrics_status {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(realm_metrics_status::REALM_METRICS_PANIC)
}

/// A NUL-terminated UTF-8 string from C. NULL gives `Ok(None)`.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for the call.
pub(crate) unsafe fn opt_str<'a>(
    p: *const c_char,
) -> Result<Option<&'a str>, realm_metrics_status> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller promises a NUL-terminated string.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map(Some)
        .map_err(|_| realm_metrics_status::REALM_METRICS_INVALID_UTF8)
}

/// Like [`opt_str`], but NULL is an error.
///
/// # Safety
/// As [`opt_str`].
pub(crate) unsafe fn req_str<'a>(p: *const c_char) -> Result<&'a str, realm_metrics_status> {
    // SAFETY: forwarded.
    unsafe { opt_str(p) }?.ok_or(realm_metrics_status::REALM_METRICS_NULL_ARGUMENT)
}

/// `?` for functions returning a status.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(s) => return s,
        }
    };
}
pub(crate) use tri;
