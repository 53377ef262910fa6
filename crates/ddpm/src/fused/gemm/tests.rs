//! Every path against the scalar definition, bit for bit: plain products, the fused
//! epilogues, continued sums and packed operands.

use super::*;
use rand::{Rng, SeedableRng};

fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

/// Every instruction set this CPU has, each under both tile-height rules.
fn paths() -> Vec<(Isa, Tiling)> {
    Isa::available()
        .into_iter()
        .flat_map(|isa| Tiling::ALL.map(|tiling| (isa, tiling)))
        .collect()
}

/// The definition, summed in the documented order with `f32::mul_add`.
fn reference(a: &[f32], b: &[f32], dims: Dims, a_t: bool, b_t: bool) -> Vec<f32> {
    let Dims { rows, depth, cols } = dims;
    let mut c = vec![0.0; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            let mut acc = 0.0f32;
            for p in 0..depth {
                let x = if a_t {
                    a[p * rows + i]
                } else {
                    a[i * depth + p]
                };
                let y = if b_t {
                    b[j * depth + p]
                } else {
                    b[p * cols + j]
                };
                acc = x.mul_add(y, acc);
            }
            c[i * cols + j] = acc;
        }
    }
    c
}

/// Every shape of the post's network (and odd ones around the block sizes), both
/// layouts of each operand, on every instruction set this CPU has and both tile heights: the result equals
/// the scalar definition bit for bit.
#[test]
fn every_path_equals_the_definition_bit_for_bit() {
    let shapes = [
        (13, 3, 100),
        (13, 100, 100),
        (7, 100, 20),
        (9, 20, 2),
        (100, 37, 100),
        (3, 37, 100),
        (20, 37, 2),
        (37, 100, 1),
        (1, 1, 1),
        (6, 0, 5),
        (0, 4, 4),
        (11, 18, 33),
        // Either side of the depth where AVX-512 moves from 6-row to 8-row tiles, with
        // every tile height of both and a remainder of the sums unrolled by four.
        (15, 63, 50),
        (15, 64, 50),
        (23, 67, 17),
        // Sums longer than DEPTH_BLOCK, continued across passes.
        (7, 600, 37),
        (20, 777, 2),
    ];
    for (s, &(rows, depth, cols)) in shapes.iter().enumerate() {
        let dims = Dims { rows, depth, cols };
        let a = random(rows * depth, s as u64);
        let b = random(depth * cols, 100 + s as u64);
        for a_t in [false, true] {
            for b_t in [false, true] {
                let want = reference(&a, &b, dims, a_t, b_t);
                for (isa, tiling) in paths() {
                    let _rule = use_tiling(tiling);
                    let mut c = vec![f32::NAN; rows * cols];
                    let mut pack = Vec::new();
                    let lhs = if a_t {
                        Lhs::Transposed(&a)
                    } else {
                        Lhs::Rows(&a)
                    };
                    let rhs = if b_t {
                        Rhs::Transposed(&b)
                    } else {
                        Rhs::Rows(&b)
                    };
                    matmul(isa, &mut c, lhs, rhs, dims, &mut pack);
                    let same = c.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{isa:?} {tiling:?} {dims:?} a_t={a_t} b_t={b_t}");
                }
            }
        }
    }
}

/// The fused epilogues equal the product followed by the separate pass, bit for bit,
/// on every path; the bias gradient is the column sum in row order.
#[test]
fn epilogues_equal_the_separate_passes() {
    // Continued sums (600 > DEPTH_BLOCK), the network's widths and their narrow tails.
    for (rows, depth, cols) in [(23, 600, 37), (13, 100, 100), (9, 20, 20), (8, 3, 2)] {
        epilogues_equal_the_separate_passes_on(rows, depth, cols);
    }
}

fn epilogues_equal_the_separate_passes_on(rows: usize, depth: usize, cols: usize) {
    let dims = Dims { rows, depth, cols };
    let a = random(rows * depth, 1);
    let b = random(depth * cols, 2);
    let bias = random(cols, 3);
    let activation: Vec<f32> = random(rows * cols, 4);
    let slope = 0.01f32;
    let plain = reference(&a, &b, dims, false, false);
    let leaky = |v: f32| if v > 0.0 { v } else { slope * v };
    let want_bias: Vec<f32> = plain
        .iter()
        .enumerate()
        .map(|(k, v)| v + bias[k % cols])
        .collect();
    let want_leaky: Vec<f32> = want_bias.iter().map(|v| leaky(*v)).collect();
    let want_back: Vec<f32> = plain
        .iter()
        .zip(&activation)
        .map(|(g, o)| if *o > 0.0 { *g } else { *g * slope })
        .collect();
    let mut want_sums = vec![0.0f32; cols];
    for row in want_back.chunks_exact(cols) {
        for (s, v) in want_sums.iter_mut().zip(row) {
            *s += v;
        }
    }
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for (isa, tiling) in paths() {
        let _rule = use_tiling(tiling);
        let run = |epilogue: Epilogue<'_>| {
            let mut c = vec![f32::NAN; rows * cols];
            matmul_then(
                isa,
                &mut c,
                Lhs::Rows(&a),
                Rhs::Rows(&b),
                dims,
                epilogue,
                &mut Vec::new(),
            );
            c
        };
        assert_eq!(
            bits(&run(Epilogue::Bias(&bias))),
            bits(&want_bias),
            "{isa:?} {tiling:?}"
        );
        let got = run(Epilogue::BiasLeakyRelu { bias: &bias, slope });
        assert_eq!(bits(&got), bits(&want_leaky), "{isa:?} {tiling:?}");
        let mut sums = vec![0.0; cols];
        let mut packed = Packed::default();
        let got = run(Epilogue::LeakyReluBackward {
            out: &activation,
            slope,
            bias_grad: &mut sums,
            packed: Some(&mut packed),
        });
        assert_eq!(bits(&got), bits(&want_back), "{isa:?} {tiling:?}");
        assert_eq!(bits(&sums), bits(&want_sums), "{isa:?} {tiling:?}");
        // The packed copy, read as B, gives what the row-major output gives.
        let lhs = random(11 * rows, 5);
        let dims = Dims {
            rows: 11,
            depth: rows,
            cols,
        };
        let read = |b: Rhs<'_>| {
            let mut c = vec![f32::NAN; 11 * cols];
            matmul(isa, &mut c, Lhs::Rows(&lhs), b, dims, &mut Vec::new());
            c
        };
        let (from_rows, from_packed) = (read(Rhs::Rows(&got)), read(Rhs::Packed(&packed)));
        assert_eq!(bits(&from_rows), bits(&from_packed), "{isa:?} {tiling:?}");
    }
}

/// A weight gradient summed over the rows in consecutive blocks, the first with
/// `matmul` and the rest with `matmul_continue`, has the bits of one product over all
/// rows on every path (block edges on and off the 512-term chunks); so do the bias
/// gradient's column sums added block by block.
#[test]
fn continued_sums_equal_one_product() {
    let (rows, depth, cols) = (13, 1100, 37);
    let x = random(depth * rows, 1);
    let dz = random(depth * cols, 2);
    let activation = random(depth * cols, 3);
    let w = random(cols * cols, 4);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for (isa, tiling) in paths() {
        let _rule = use_tiling(tiling);
        let mut whole = vec![0.0; rows * cols];
        let dims = |depth| Dims { rows, depth, cols };
        let mut pack = Vec::new();
        matmul(
            isa,
            &mut whole,
            Lhs::Transposed(&x),
            Rhs::Rows(&dz),
            dims(depth),
            &mut pack,
        );
        for cuts in [
            vec![0, 300, 1100],
            vec![0, 512, 600, 1100],
            vec![0, 1, 1099, 1100],
        ] {
            let mut blocks = vec![f32::NAN; rows * cols];
            for (i, pair) in cuts.windows(2).enumerate() {
                let (start, end) = (pair[0], pair[1]);
                let x_block = &x[start * rows..end * rows];
                let dz_block = &dz[start * cols..end * cols];
                let (lhs, rhs) = (Lhs::Transposed(x_block), Rhs::Rows(dz_block));
                if i == 0 {
                    matmul(isa, &mut blocks, lhs, rhs, dims(end - start), &mut pack);
                } else {
                    matmul_continue(isa, &mut blocks, lhs, rhs, dims(end - start), &mut pack);
                }
            }
            assert_eq!(bits(&blocks), bits(&whole), "{isa:?} {tiling:?} {cuts:?}");
        }
        // The bias gradient of an input gradient over depth rows, in two blocks.
        let backward = |start: usize, end: usize, sums: &mut [f32]| {
            let mut c = vec![0.0; (end - start) * cols];
            matmul_then(
                isa,
                &mut c,
                Lhs::Rows(&dz[start * cols..end * cols]),
                Rhs::Rows(&w),
                Dims {
                    rows: end - start,
                    depth: cols,
                    cols,
                },
                Epilogue::LeakyReluBackward {
                    out: &activation[start * cols..end * cols],
                    slope: 0.01,
                    bias_grad: sums,
                    packed: None,
                },
                &mut Vec::new(),
            );
        };
        let (mut one, mut two) = (vec![0.0; cols], vec![0.0; cols]);
        backward(0, depth, &mut one);
        backward(0, 401, &mut two);
        backward(401, depth, &mut two);
        assert_eq!(bits(&two), bits(&one), "{isa:?} {tiling:?}");
    }
}

/// A right operand packed once by `pack` (row-major or transposed) gives the bits of
/// the same product packing it itself, on every path and across repeated use.
#[test]
fn a_matrix_packed_once_gives_the_same_products() {
    for (rows, depth, cols) in [(13, 100, 100), (7, 20, 2), (9, 3, 37), (600, 100, 20)] {
        let a = random(rows * depth, 1);
        let b = random(depth * cols, 2);
        let dims = Dims { rows, depth, cols };
        for (isa, tiling) in paths() {
            let _rule = use_tiling(tiling);
            for transposed in [false, true] {
                let rhs = if transposed {
                    Rhs::Transposed(&b)
                } else {
                    Rhs::Rows(&b)
                };
                let mut want = vec![0.0; rows * cols];
                matmul(isa, &mut want, Lhs::Rows(&a), rhs, dims, &mut Vec::new());
                let mut packed = Packed::default();
                pack(isa, rhs, depth, cols, &mut packed);
                for _ in 0..2 {
                    let mut got = vec![f32::NAN; rows * cols];
                    let b = Rhs::Packed(&packed);
                    matmul(isa, &mut got, Lhs::Rows(&a), b, dims, &mut Vec::new());
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{isa:?} {tiling:?} {dims:?} {transposed}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_reused_pack_buffer_gives_the_same_result() {
    let (a, b) = (random(300, 1), random(1500, 2));
    let mut pack = Vec::new();
    let mut product = |rows, depth, cols| {
        let mut c = vec![0.0; rows * cols];
        let dims = Dims { rows, depth, cols };
        matmul(
            Isa::detect(),
            &mut c,
            Lhs::Rows(&a),
            Rhs::Rows(&b),
            dims,
            &mut pack,
        );
        c
    };
    let first = product(10, 30, 50);
    // A smaller product leaves stale values in the buffer; the padding must be rewritten.
    product(2, 3, 3);
    assert_eq!(first, product(10, 30, 50));
}
