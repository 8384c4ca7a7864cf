//! A tokenizer built from a GGUF file's own vocabulary (`tokenizer.ggml.*` metadata), so a
//! single `.gguf` is all a local model needs.
//!
//! - `tokenizer.ggml.model = "gpt2"`: byte-level BPE from `tokens` + `merges`, with the
//!   pre-tokenizer llama.cpp uses for the file's `tokenizer.ggml.pre` (GPT-2, SmolLM /
//!   StarCoder with single digits, Qwen2, Llama 3).
//! - `tokenizer.ggml.model = "llama"`: SentencePiece BPE rebuilt from `tokens` + `scores`
//!   (merges ranked by the score of the merged piece, byte fallback for `<0x..>` pieces),
//!   the construction Hugging Face uses for Llama/Mistral tokenizers.
//!
//! Control and user-defined tokens (`<|im_start|>`, `<|im_end|>`, `<s>` …) are added
//! tokens: they are recognised as single tokens wherever they appear in the text.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::decoders::DecoderWrapper;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::{BPE, Merges, Vocab};
use tokenizers::normalizers::{NormalizerWrapper, Prepend, Replace, Sequence as NormSequence};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use crate::LlmError;

/// GGUF token types (llama.cpp `llama_token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// Pre-tokenizer regexes of llama.cpp (`llama-vocab.cpp`) by `tokenizer.ggml.pre`.
const QWEN2_REGEX: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const LLAMA3_REGEX: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The `tokenizer.ggml.pre` values understood, for error messages.
const SUPPORTED_PRE: &str = "default, gpt-2, smollm, starcoder, refact, qwen2, deepseek-r1-qwen, llama3, llama-bpe, llama-v3, falcon3";

/// A GGUF model's tokenizer and the special tokens generation needs.
#[derive(Clone)]
pub struct GgufTokenizer {
    inner: Tokenizer,
    kind: String,
    bos: Option<u32>,
    eos: Option<u32>,
    add_bos: bool,
    end_of_turn: Vec<u32>,
}

impl std::fmt::Debug for GgufTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufTokenizer")
            .field("kind", &self.kind)
            .field("vocab_size", &self.vocab_size())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .finish()
    }
}

impl GgufTokenizer {
    /// Reads only the metadata of the GGUF file at `path` and builds its tokenizer.
    pub fn load(path: &Path) -> Result<Self, LlmError> {
        let file = File::open(path).map_err(|e| LlmError::io(path, e))?;
        let content = Content::read(&mut BufReader::new(file)).map_err(|e| {
            LlmError::Model(format!("{}: not a readable GGUF file: {e}", path.display()))
        })?;
        Self::from_metadata(&content.metadata)
            .map_err(|e| LlmError::Model(format!("{}: {e}", path.display())))
    }

    /// Builds the tokenizer from GGUF metadata; the error says which key is wrong.
    pub fn from_metadata(md: &HashMap<String, Value>) -> Result<Self, String> {
        let kind = meta_str(md, "tokenizer.ggml.model")?
            .ok_or("no tokenizer in the file (metadata `tokenizer.ggml.model` is missing)")?;
        let tokens = meta_strings(md, "tokenizer.ggml.tokens")?
            .ok_or("metadata `tokenizer.ggml.tokens` is missing")?;
        if tokens.is_empty() {
            return Err("metadata `tokenizer.ggml.tokens` is empty".into());
        }
        let types = meta_ints(md, "tokenizer.ggml.token_type")?;
        if let Some(t) = &types
            && t.len() != tokens.len()
        {
            return Err(format!(
                "metadata `tokenizer.ggml.token_type` has {} entries for {} tokens",
                t.len(),
                tokens.len()
            ));
        }
        let id = |key: &str| -> Result<Option<u32>, String> {
            match meta_int(md, key)? {
                None => Ok(None),
                Some(v) if v >= 0 && (v as usize) < tokens.len() => Ok(Some(v as u32)),
                // llama.cpp writes -1 (as u32::MAX) for "none".
                Some(v) if v < 0 || v == u32::MAX as i64 => Ok(None),
                Some(v) => Err(format!(
                    "metadata `{key}` = {v} is outside the vocabulary of {} tokens",
                    tokens.len()
                )),
            }
        };
        let bos = id("tokenizer.ggml.bos_token_id")?;
        let eos = id("tokenizer.ggml.eos_token_id")?;
        let eot = id("tokenizer.ggml.eot_token_id")?;
        let unk = id("tokenizer.ggml.unknown_token_id")?;

        let (mut inner, default_add_bos) = match kind.as_str() {
            "gpt2" => (byte_level_bpe(md, &tokens)?, false),
            "llama" => (sentencepiece_bpe(md, &tokens, unk)?, true),
            other => {
                return Err(format!(
                    "tokenizer `{other}` (metadata `tokenizer.ggml.model`) is not supported; \
                     supported: gpt2 (byte-level BPE), llama (SentencePiece BPE)"
                ));
            }
        };
        let add_bos = meta_bool(md, "tokenizer.ggml.add_bos_token")?.unwrap_or(default_add_bos);

        // Control and user-defined tokens match as whole tokens anywhere in the text.
        let (mut control, mut user) = (Vec::new(), Vec::new());
        for (i, tok) in tokens.iter().enumerate() {
            let ty = types.as_ref().map(|t| t[i]);
            let special_id = Some(i as u32) == bos || Some(i as u32) == eos;
            if tok.is_empty() {
                continue;
            }
            if ty == Some(TOKEN_TYPE_CONTROL) || special_id {
                control.push(AddedToken::from(tok.clone(), true));
            } else if ty == Some(TOKEN_TYPE_USER_DEFINED) {
                user.push(AddedToken::from(tok.clone(), false));
            }
        }
        inner
            .add_special_tokens(control)
            .map_err(|e| format!("adding the control tokens failed: {e}"))?;
        inner
            .add_tokens(user)
            .map_err(|e| format!("adding the user-defined tokens failed: {e}"))?;

        // Tokens that end an assistant turn besides eos: the usual end-of-turn markers
        // of chat templates, when the vocabulary has them as control tokens.
        let mut end_of_turn: Vec<u32> = eos.into_iter().chain(eot).collect();
        for marker in [
            "<|im_end|>",
            "<|endoftext|>",
            "<|eot_id|>",
            "<|end|>",
            "<end_of_turn>",
            "</s>",
        ] {
            if let Some(i) = tokens.iter().position(|t| t == marker) {
                let control = types
                    .as_ref()
                    .is_none_or(|t| t[i] == TOKEN_TYPE_CONTROL || t[i] == TOKEN_TYPE_USER_DEFINED);
                if control && !end_of_turn.contains(&(i as u32)) {
                    end_of_turn.push(i as u32);
                }
            }
        }

        Ok(Self {
            inner,
            kind,
            bos,
            eos,
            add_bos,
            end_of_turn,
        })
    }

    /// Token ids of `text`; special-token strings in it become their single ids. No bos is
    /// added here (see [`GgufTokenizer::add_bos`]).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, LlmError> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| LlmError::Model(format!("tokenizing failed: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The text of `ids`; special tokens are kept when `keep_special`.
    pub fn decode(&self, ids: &[u32], keep_special: bool) -> Result<String, LlmError> {
        self.inner
            .decode(ids, !keep_special)
            .map_err(|e| LlmError::Model(format!("detokenizing failed: {e}")))
    }

    /// The id of a token string (special tokens included).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The string of a token id.
    pub fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// `gpt2` or `llama` (metadata `tokenizer.ggml.model`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    pub fn eos_id(&self) -> Option<u32> {
        self.eos
    }

    /// Whether prompts start with bos (metadata `tokenizer.ggml.add_bos_token`).
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// Ids that end generation: eos, eot and the end-of-turn markers in the vocabulary.
    pub fn end_of_turn_ids(&self) -> &[u32] {
        &self.end_of_turn
    }

    /// The underlying `tokenizers` tokenizer (streaming decode, offsets…).
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

/// Byte-level BPE (GPT-2 style) from `tokenizer.ggml.tokens` and `tokenizer.ggml.merges`.
fn byte_level_bpe(md: &HashMap<String, Value>, tokens: &[String]) -> Result<Tokenizer, String> {
    let merges_raw = meta_strings(md, "tokenizer.ggml.merges")?
        .ok_or("metadata `tokenizer.ggml.merges` is missing (needed by a gpt2 tokenizer)")?;
    let mut merges: Merges = Vec::with_capacity(merges_raw.len());
    for (i, m) in merges_raw.iter().enumerate() {
        let (a, b) = m.split_once(' ').ok_or_else(|| {
            format!("metadata `tokenizer.ggml.merges`[{i}] = {m:?} is not `left right`")
        })?;
        merges.push((a.to_string(), b.to_string()));
    }
    let vocab = vocab_map(tokens)?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| format!("building the BPE vocabulary failed: {e}"))?;

    let pre = meta_str(md, "tokenizer.ggml.pre")?.unwrap_or_else(|| "default".into());
    let gpt2 = || PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, true));
    let split = |re: &str| -> Result<PreTokenizerWrapper, String> {
        let split = Split::new(
            SplitPattern::Regex(re.into()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| format!("pre-tokenizer regex failed to compile: {e}"))?;
        Ok(PreTokenizerWrapper::Sequence(PreSequence::new(vec![
            PreTokenizerWrapper::Split(split),
            PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, false)),
        ])))
    };
    let pre_tokenizer = match pre.as_str() {
        "default" | "gpt-2" | "gpt2" => gpt2(),
        "smollm" | "starcoder" | "refact" => PreTokenizerWrapper::Sequence(PreSequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            gpt2(),
        ])),
        "qwen2" | "deepseek-r1-qwen" => split(QWEN2_REGEX)?,
        "llama3" | "llama-bpe" | "llama-v3" | "falcon3" => split(LLAMA3_REGEX)?,
        other => {
            return Err(format!(
                "pre-tokenizer `{other}` (metadata `tokenizer.ggml.pre`) is not supported; \
                 supported: {SUPPORTED_PRE}"
            ));
        }
    };
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer));
    tokenizer.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevel::new(
        false, false, true,
    ))));
    Ok(tokenizer)
}

/// SentencePiece BPE (Llama / Mistral) from `tokenizer.ggml.tokens` and
/// `tokenizer.ggml.scores`: a pair of pieces merges when their concatenation is in the
/// vocabulary, and merges with higher-scoring results come first.
fn sentencepiece_bpe(
    md: &HashMap<String, Value>,
    tokens: &[String],
    unk: Option<u32>,
) -> Result<Tokenizer, String> {
    let scores = meta_floats(md, "tokenizer.ggml.scores")?
        .ok_or("metadata `tokenizer.ggml.scores` is missing (needed by a llama tokenizer)")?;
    if scores.len() != tokens.len() {
        return Err(format!(
            "metadata `tokenizer.ggml.scores` has {} entries for {} tokens",
            scores.len(),
            tokens.len()
        ));
    }
    let merges = match meta_strings(md, "tokenizer.ggml.merges")? {
        Some(m) if !m.is_empty() => m
            .iter()
            .enumerate()
            .map(|(i, m)| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| {
                        format!("metadata `tokenizer.ggml.merges`[{i}] = {m:?} is not `left right`")
                    })
            })
            .collect::<Result<Merges, String>>()?,
        _ => merges_from_scores(tokens, &scores),
    };
    let vocab = vocab_map(tokens)?;
    let mut builder = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true)
        .fuse_unk(true);
    if let Some(u) = unk {
        builder = builder.unk_token(tokens[u as usize].clone());
    }
    let bpe = builder
        .build()
        .map_err(|e| format!("building the SentencePiece vocabulary failed: {e}"))?;
    let add_prefix = meta_bool(md, "tokenizer.ggml.add_space_prefix")?.unwrap_or(true);
    let replace = Replace::new(" ", "▁").map_err(|e| e.to_string())?;
    let mut norm = Vec::new();
    if add_prefix {
        norm.push(NormalizerWrapper::Prepend(Prepend::new("▁".into())));
    }
    norm.push(NormalizerWrapper::Replace(replace));
    let mut dec = vec![
        DecoderWrapper::Replace(Replace::new("▁", " ").map_err(|e| e.to_string())?),
        DecoderWrapper::ByteFallback(ByteFallback::new()),
        DecoderWrapper::Fuse(Fuse::new()),
    ];
    if add_prefix {
        dec.push(DecoderWrapper::Strip(Strip::new(' ', 1, 0)));
    }
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer
        .with_normalizer(Some(NormalizerWrapper::Sequence(NormSequence::new(norm))))
        .map_err(|e| format!("setting the normalizer failed: {e}"))?;
    tokenizer.with_decoder(Some(DecoderWrapper::Sequence(DecoderSequence::new(dec))));
    Ok(tokenizer)
}

/// BPE merges implied by a SentencePiece vocabulary: every split of a piece into two
/// pieces of the vocabulary, ordered by the piece's score (best first), then by the ids
/// of the two halves.
pub(crate) fn merges_from_scores(tokens: &[String], scores: &[f64]) -> Merges {
    let index: HashMap<&str, usize> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut merges: Vec<(f64, usize, usize)> = Vec::new();
    for (piece, score) in tokens.iter().zip(scores) {
        for (split, _) in piece.char_indices().skip(1) {
            let (l, r) = piece.split_at(split);
            if let (Some(&li), Some(&ri)) = (index.get(l), index.get(r)) {
                merges.push((*score, li, ri));
            }
        }
    }
    merges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    merges
        .into_iter()
        .map(|(_, l, r)| (tokens[l].clone(), tokens[r].clone()))
        .collect()
}

fn vocab_map(tokens: &[String]) -> Result<Vocab, String> {
    let mut vocab = Vocab::default();
    for (i, t) in tokens.iter().enumerate() {
        // Duplicates happen in some conversions (padding tokens); the first id wins.
        vocab.entry(t.clone()).or_insert(i as u32);
    }
    if vocab.is_empty() {
        return Err("metadata `tokenizer.ggml.tokens` is empty".into());
    }
    Ok(vocab)
}

pub(crate) fn meta_str(md: &HashMap<String, Value>, key: &str) -> Result<Option<String>, String> {
    match md.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(format!(
            "metadata `{key}` should be a string, found {:?}",
            v.value_type()
        )),
    }
}

fn meta_strings(md: &HashMap<String, Value>, key: &str) -> Result<Option<Vec<String>>, String> {
    let Some(v) = md.get(key) else {
        return Ok(None);
    };
    let Value::Array(items) = v else {
        return Err(format!("metadata `{key}` should be an array of strings"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!(
                "metadata `{key}`[{i}] should be a string, found {:?}",
                other.value_type()
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn int_of(v: &Value) -> Option<i64> {
    Some(match v {
        Value::U8(x) => *x as i64,
        Value::I8(x) => *x as i64,
        Value::U16(x) => *x as i64,
        Value::I16(x) => *x as i64,
        Value::U32(x) => *x as i64,
        Value::I32(x) => *x as i64,
        Value::U64(x) => i64::try_from(*x).ok()?,
        Value::I64(x) => *x,
        _ => return None,
    })
}

pub(crate) fn meta_int(md: &HashMap<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match md.get(key) {
        None => Ok(None),
        Some(v) => int_of(v).map(Some).ok_or_else(|| {
            format!(
                "metadata `{key}` should be an integer, found {:?}",
                v.value_type()
            )
        }),
    }
}

fn meta_ints(md: &HashMap<String, Value>, key: &str) -> Result<Option<Vec<i64>>, String> {
    let Some(v) = md.get(key) else {
        return Ok(None);
    };
    let Value::Array(items) = v else {
        return Err(format!("metadata `{key}` should be an array of integers"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            int_of(v).ok_or_else(|| format!("metadata `{key}`[{i}] should be an integer"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn meta_floats(md: &HashMap<String, Value>, key: &str) -> Result<Option<Vec<f64>>, String> {
    let Some(v) = md.get(key) else {
        return Ok(None);
    };
    let Value::Array(items) = v else {
        return Err(format!("metadata `{key}` should be an array of numbers"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::F32(x) => Ok(*x as f64),
            Value::F64(x) => Ok(*x),
            other => int_of(other)
                .map(|x| x as f64)
                .ok_or_else(|| format!("metadata `{key}`[{i}] should be a number")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn meta_bool(md: &HashMap<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match md.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => int_of(v).map(|x| Some(x != 0)).ok_or_else(|| {
            format!(
                "metadata `{key}` should be a bool, found {:?}",
                v.value_type()
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentencepiece_merges_follow_scores() {
        let tokens: Vec<String> = ["a", "b", "c", "ab", "bc", "abc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // "bc" scores higher than "ab", so b+c merges first; "abc" splits as a+bc, ab+c.
        let scores = [0.0, 0.0, 0.0, -2.0, -1.0, -3.0];
        let merges = merges_from_scores(&tokens, &scores);
        let m: Vec<(&str, &str)> = merges
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(m, vec![("b", "c"), ("a", "b"), ("a", "bc"), ("ab", "c")]);
    }

    #[test]
    fn sentencepiece_tokenizer_encodes_with_prefix_and_byte_fallback() {
        let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
        tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
        for p in ["▁", "h", "i", "▁h", "▁hi"] {
            tokens.push(p.into());
        }
        let mut types = vec![2i32, 3, 3];
        types.extend(std::iter::repeat_n(6, 256));
        types.extend(std::iter::repeat_n(1, 5));
        let scores: Vec<Value> = (0..tokens.len()).map(|i| Value::F32(-(i as f32))).collect();
        let mut md = HashMap::new();
        md.insert("tokenizer.ggml.model".into(), Value::String("llama".into()));
        md.insert(
            "tokenizer.ggml.tokens".into(),
            Value::Array(tokens.iter().cloned().map(Value::String).collect()),
        );
        md.insert(
            "tokenizer.ggml.token_type".into(),
            Value::Array(types.into_iter().map(Value::I32).collect()),
        );
        md.insert("tokenizer.ggml.scores".into(), Value::Array(scores));
        md.insert("tokenizer.ggml.bos_token_id".into(), Value::U32(1));
        md.insert("tokenizer.ggml.eos_token_id".into(), Value::U32(2));
        md.insert("tokenizer.ggml.unknown_token_id".into(), Value::U32(0));
        let tok = GgufTokenizer::from_metadata(&md).unwrap();
        assert!(tok.add_bos());
        let ids = tok.encode("hi").unwrap();
        assert_eq!(ids, vec![tok.token_id("▁hi").unwrap()]);
        // "é" is not in the vocabulary: two byte pieces, decoded back to the character.
        let ids = tok.encode("hi é</s>").unwrap();
        assert_eq!(ids.last(), Some(&2));
        assert!(ids.contains(&tok.token_id("<0xC3>").unwrap()));
        assert_eq!(tok.decode(&ids, false).unwrap(), "hi é");
        assert_eq!(tok.decode(&ids, true).unwrap(), "hi é</s>");
    }

    #[test]
    fn unsupported_tokenizer_is_named() {
        let mut md = HashMap::new();
        md.insert("tokenizer.ggml.model".into(), Value::String("bert".into()));
        md.insert(
            "tokenizer.ggml.tokens".into(),
            Value::Array(vec![Value::String("a".into())]),
        );
        let err = GgufTokenizer::from_metadata(&md).unwrap_err();
        assert!(err.contains("tokenizer `bert`"), "{err}");
    }
}
