//! Which vector instructions our own kernels run with, chosen once per process at run time.
//!
//! One binary runs everywhere: the kernels are compiled for every path (`#[target_feature]`)
//! and [`VectorPath::active`] picks the best one the CPU has, so a build made on an AVX2
//! machine uses AVX-512 where it exists and the portable loops where neither does. This is
//! about our own kernels (`direct.rs`, `input_gradient.rs`, `pool_simd.rs`) only: the GEMMs
//! (the `gemm` crate, ours and dfdx's) pick their own kernels from the CPU (with or without FMA)
//! whatever the path.
//!
//! `HEAD_CT_VECTOR_PATH=avx512|avx2|portable` asks for a lower path than the CPU's best (never a
//! higher one), to compare paths on one machine (`cargo bench --bench train_epoch`). It does not
//! make one machine compute like another: the GEMMs still use what this CPU has. A seeded run is
//! bit-reproducible on a given machine, path and thread count. The AVX-512 and AVX2 paths give
//! the same bits; the portable path differs in the last bits of the first block's weight
//! gradient (the GEMM sums it in another order than the AVX2 kernel's lanes).

use std::fmt;
use std::sync::OnceLock;

/// The variable that asks for a lower vector path (read through [`crate::settings`]).
pub use crate::settings::VECTOR_PATH_VARIABLE;

/// A set of vector instructions the kernels can use, from the most portable to the widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VectorPath {
    /// Plain Rust loops (what the compiler vectorises for the build's baseline target).
    Portable,
    /// x86-64 AVX2 and FMA: 8 floats per register, 16 registers.
    Avx2Fma,
    /// x86-64 AVX-512 F, BW, DQ and VL with AVX2 and FMA: 16 floats per register, 32 registers.
    Avx512,
}

impl VectorPath {
    /// Every path, most portable first.
    pub const ALL: [VectorPath; 3] = [
        VectorPath::Portable,
        VectorPath::Avx2Fma,
        VectorPath::Avx512,
    ];

    /// The name used in `model.json`, benchmark output and [`VECTOR_PATH_VARIABLE`].
    pub const fn name(self) -> &'static str {
        match self {
            VectorPath::Portable => "portable",
            VectorPath::Avx2Fma => "avx2",
            VectorPath::Avx512 => "avx512",
        }
    }

    /// The path named `name` (as [`VectorPath::name`] gives it), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name.trim())
    }

    /// Whether this CPU can run the path.
    pub fn is_supported(self) -> bool {
        match self {
            VectorPath::Portable => true,
            VectorPath::Avx2Fma => has_avx2_fma(),
            VectorPath::Avx512 => has_avx2_fma() && has_avx512(),
        }
    }

    /// The widest path this CPU supports.
    pub fn best_supported() -> Self {
        Self::ALL
            .into_iter()
            .rev()
            .find(|p| p.is_supported())
            .unwrap_or(VectorPath::Portable)
    }

    /// The path every kernel uses in this process: [`VectorPath::best_supported`], lowered by
    /// [`VECTOR_PATH_VARIABLE`] if it names a lower path. Decided on the first call and fixed
    /// for the process's life, so one run never mixes paths. A name that is not a path, or a
    /// path this CPU lacks, is ignored with a warning on standard error (a benchmark must not
    /// silently run another path than asked: the warning says which one runs).
    pub fn active() -> Self {
        static ACTIVE: OnceLock<VectorPath> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let best = Self::best_supported();
            match crate::settings::requested_vector_path() {
                None => best,
                Some(asked) => match Self::from_name(&asked) {
                    Some(path) if path <= best => path,
                    Some(path) => {
                        eprintln!(
                            "warning: {VECTOR_PATH_VARIABLE}={asked}: this CPU has no {path} \
                             path; running {best}"
                        );
                        best
                    }
                    None => {
                        eprintln!(
                            "warning: {VECTOR_PATH_VARIABLE}={asked} is not a vector path \
                             (portable, avx2 or avx512); running {best}"
                        );
                        best
                    }
                },
            }
        })
    }
}

impl fmt::Display for VectorPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx2_fma() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512dq")
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx512() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_paths_are_ordered() {
        for path in VectorPath::ALL {
            assert_eq!(VectorPath::from_name(path.name()), Some(path));
        }
        assert_eq!(VectorPath::from_name("sse"), None);
        assert!(VectorPath::Portable < VectorPath::Avx2Fma);
        assert!(VectorPath::Avx2Fma < VectorPath::Avx512);
    }

    #[test]
    fn the_active_path_is_supported_and_never_above_the_best() {
        assert!(VectorPath::Portable.is_supported());
        let active = VectorPath::active();
        assert!(active.is_supported());
        assert!(active <= VectorPath::best_supported());
        // A wider path implies the narrower ones.
        if VectorPath::Avx512.is_supported() {
            assert!(VectorPath::Avx2Fma.is_supported());
        }
    }
}
