//! The micro-kernel alone, with everything in L1: an `MR x NV`-vector tile of AVX-512
//! accumulators summed over `kc` terms (`cargo run --example tiles -p bench -- KC`), with A
//! packed (`MR` floats per term, contiguous) and in place (`MR` rows read by index), in
//! GFLOP/s. It shows what a tile shape can reach on this core before the product's own
//! costs (tails, epilogues, caches).
use pulp::{Simd, WithSimd};
use std::time::Instant;

struct K<'a, const MR: usize, const NV: usize> {
    a: &'a [f32],
    b: &'a [f32],
    c: &'a mut [f32],
    kc: usize,
    reps: usize,
    inplace: bool,
}
impl<const MR: usize, const NV: usize> WithSimd for K<'_, MR, NV> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let K {
            a,
            b,
            c,
            kc,
            reps,
            inplace,
        } = self;
        let bv = S::as_simd_f32s(&b[..kc * NV * 16]).0;
        for _ in 0..reps {
            let mut acc = [[s.splat_f32s(0.0); NV]; MR];
            if inplace {
                let rows: [&[f32]; MR] = core::array::from_fn(|r| &a[r * kc..][..kc]);
                for (p, bb) in (0..kc).zip(bv.chunks_exact(NV)) {
                    for r in 0..MR {
                        let x = s.splat_f32s(rows[r][p]);
                        for v in 0..NV {
                            acc[r][v] = s.mul_add_f32s(x, bb[v], acc[r][v]);
                        }
                    }
                }
            } else {
                for (ac, bb) in a[..kc * MR].chunks_exact(MR).zip(bv.chunks_exact(NV)) {
                    for r in 0..MR {
                        let x = s.splat_f32s(ac[r]);
                        for v in 0..NV {
                            acc[r][v] = s.mul_add_f32s(x, bb[v], acc[r][v]);
                        }
                    }
                }
            }
            let cv = S::as_mut_simd_f32s(c).0;
            for r in 0..MR {
                for v in 0..NV {
                    cv[r * NV + v] = s.add_f32s(cv[r * NV + v], acc[r][v]);
                }
            }
        }
    }
}
#[cfg(target_arch = "x86_64")]
fn run<const MR: usize, const NV: usize>(kc: usize) {
    for inplace in [false, true] {
        let a: Vec<f32> = (0..kc * MR).map(|i| (i % 7) as f32 * 0.01).collect();
        let b: Vec<f32> = (0..kc * NV * 16).map(|i| (i % 5) as f32 * 0.01).collect();
        let mut c = vec![0f32; MR * NV * 16];
        let Some(v4) = pulp::x86::V4::try_new() else {
            eprintln!("tiles: this CPU has no AVX-512");
            std::process::exit(1);
        };
        let reps = 20000;
        Simd::vectorize(
            v4,
            K::<MR, NV> {
                a: &a,
                b: &b,
                c: &mut c,
                kc,
                reps: 100,
                inplace,
            },
        );
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            Simd::vectorize(
                v4,
                K::<MR, NV> {
                    a: &a,
                    b: &b,
                    c: &mut c,
                    kc,
                    reps,
                    inplace,
                },
            );
            best = best.min(t.elapsed().as_secs_f64());
        }
        let flops = 2.0 * (MR * NV * 16 * kc * reps) as f64;
        println!(
            "{MR}x{NV} kc={kc} inplace={inplace}: {:.1} GFLOP/s",
            flops / best / 1e9
        );
    }
}
#[cfg(not(target_arch = "x86_64"))]
fn main() {
    eprintln!("tiles: x86-64 only");
}

#[cfg(target_arch = "x86_64")]
fn main() {
    let kc = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(100);
    run::<6, 2>(kc);
    run::<8, 2>(kc);
    run::<6, 3>(kc);
    run::<8, 3>(kc);
    run::<12, 2>(kc);
    run::<14, 2>(kc);
}
