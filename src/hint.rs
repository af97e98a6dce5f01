//! Hints to the processor: they change how long things take, never what they compute.
//!
//! Shared by the stages whose inner loops read memory at random (the featurizer's term table,
//! the solvers' coefficients); it depends on nothing.

/// Ask the cache for the line holding `value`, which the caller reads or writes soon. Only a
/// hint: it changes nothing but timing (and nothing at all off x86-64).
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and has no effect on the program's state; the address
    // is a valid reference besides.
    unsafe {
        std::arch::x86_64::_mm_prefetch(
            std::ptr::from_ref(value).cast::<i8>(),
            std::arch::x86_64::_MM_HINT_T0,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
