//! Each matrix product of one training epoch at n = 1000, timed on its own on the AVX-512
//! path under both tile rules (`avx512/8`, `avx512/6`) and on the AVX2 path, one after the
//! other: best of `REPS` (default 5) rounds of 50 products, after 20 to warm up.
//! `cargo run --example shapes -p bench -- [FILTER] [REPS]` runs the rows whose
//! "path shape" contains FILTER; `SHAPE=rows,depth,cols,kind` adds one (kind 0: A by rows,
//! 1: A transposed, 2: B transposed; 3 and 4 as the epoch runs them: A by rows with the
//! forward pass's bias and LeakyReLU, B transposed with LeakyReLU's backward pass and the
//! packed copy, 5 the same without the packed copy). Run two builds in turn to compare them interleaved.
use ddpm::fused::{
    gemm::{self, Dims, Epilogue, Lhs, Packed, Rhs, Tiling},
    isa::Isa,
};
use std::time::Instant;
fn main() {
    let n = 1000;
    let a: Vec<f32> = (0..n * 100)
        .map(|i| ((i * 7919) % 211) as f32 / 211.0 - 0.5)
        .collect();
    let b: Vec<f32> = (0..n * 100)
        .map(|i| ((i * 104729) % 223) as f32 / 223.0 - 0.5)
        .collect();
    let mut c = vec![0f32; n * 100];
    let mut pack = Vec::new();
    let mut shapes: Vec<(&str, Dims, u8)> = vec![
        (
            "fwd 100x100",
            Dims {
                rows: n,
                depth: 100,
                cols: 100,
            },
            0,
        ),
        (
            "fwd 3x100",
            Dims {
                rows: n,
                depth: 3,
                cols: 100,
            },
            0,
        ),
        (
            "fwd 100x20",
            Dims {
                rows: n,
                depth: 100,
                cols: 20,
            },
            0,
        ),
        (
            "fwd 20x2",
            Dims {
                rows: n,
                depth: 20,
                cols: 2,
            },
            0,
        ),
        (
            "wg 100x100",
            Dims {
                rows: 100,
                depth: n,
                cols: 100,
            },
            1,
        ),
        (
            "wg 100x20",
            Dims {
                rows: 100,
                depth: n,
                cols: 20,
            },
            1,
        ),
        (
            "wg 3x100",
            Dims {
                rows: 3,
                depth: n,
                cols: 100,
            },
            1,
        ),
        (
            "wg 20x2",
            Dims {
                rows: 20,
                depth: n,
                cols: 2,
            },
            1,
        ),
        (
            "ig 100->100",
            Dims {
                rows: n,
                depth: 100,
                cols: 100,
            },
            2,
        ),
        (
            "ig 20->100",
            Dims {
                rows: n,
                depth: 20,
                cols: 100,
            },
            2,
        ),
        (
            "ig 2->20",
            Dims {
                rows: n,
                depth: 2,
                cols: 20,
            },
            2,
        ),
        (
            "fwd 100x100 +bias+leaky",
            Dims {
                rows: n,
                depth: 100,
                cols: 100,
            },
            3,
        ),
        (
            "ig 100->100 +leaky'+packed",
            Dims {
                rows: n,
                depth: 100,
                cols: 100,
            },
            4,
        ),
        (
            "ig 100->100 +leaky'",
            Dims {
                rows: n,
                depth: 100,
                cols: 100,
            },
            5,
        ),
    ];
    let bias = vec![0.01f32; 100];
    let mut bias_grad = vec![0f32; 100];
    let mut packed = Packed::default();
    if let Ok(c) = std::env::var("SHAPE") {
        let v: Vec<usize> = c.split(',').map(|x| x.parse().unwrap()).collect();
        shapes.push((
            "custom",
            Dims {
                rows: v[0],
                depth: v[1],
                cols: v[2],
            },
            v[3] as u8,
        ));
    }
    let filter = std::env::args().nth(1).unwrap_or_default();
    let reps: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(5);
    // Each shape on the AVX-512 path under both tile rules, then on AVX2, one after the
    // other, so the rows to compare are measured a moment apart.
    let paths = [
        (Isa::Avx512, Tiling::EightRows, "avx512/8"),
        (Isa::Avx512, Tiling::SixRows, "avx512/6"),
        (Isa::Avx2Fma, Tiling::SixRows, "avx2+fma"),
    ];
    for (name, d, kind) in &shapes {
        for (isa, tiling, label) in paths {
            if !format!("{label} {name}").contains(&filter) {
                continue;
            }
            let _rule = gemm::use_tiling(tiling);
            let mut run = |c: &mut Vec<f32>, pack: &mut Vec<f32>| match kind {
                0 => gemm::matmul(isa, c, Lhs::Rows(&a), Rhs::Rows(&b), *d, pack),
                1 => gemm::matmul(isa, c, Lhs::Transposed(&a), Rhs::Rows(&b), *d, pack),
                2 => gemm::matmul(isa, c, Lhs::Rows(&a), Rhs::Transposed(&b), *d, pack),
                3 => gemm::matmul_then(
                    isa,
                    c,
                    Lhs::Rows(&a),
                    Rhs::Rows(&b),
                    *d,
                    Epilogue::BiasLeakyRelu {
                        bias: &bias,
                        slope: 0.01,
                    },
                    pack,
                ),
                kind => gemm::matmul_then(
                    isa,
                    c,
                    Lhs::Rows(&a),
                    Rhs::Transposed(&b),
                    *d,
                    Epilogue::LeakyReluBackward {
                        out: &b,
                        slope: 0.01,
                        bias_grad: &mut bias_grad,
                        packed: (*kind == 4).then_some(&mut packed),
                    },
                    pack,
                ),
            };
            for _ in 0..20 {
                run(&mut c, &mut pack);
            }
            let mut best = f64::MAX;
            for _ in 0..reps {
                let t = Instant::now();
                for _ in 0..50 {
                    run(&mut c, &mut pack);
                }
                best = best.min(t.elapsed().as_secs_f64() / 50.0);
            }
            let macs = (d.rows * d.depth * d.cols) as f64;
            println!(
                "{:8} {:12} {:8.1} us  {:6.1} GFLOP/s",
                label,
                name,
                best * 1e6,
                2.0 * macs / best / 1e9
            );
        }
    }
}
