//! Chat templates: the GGUF's own Jinja `tokenizer.chat_template`, rendered with
//! minijinja the way Hugging Face renders it (trim_blocks, lstrip_blocks, loop
//! controls, Python string methods, `raise_exception`), or ChatML when the file has none.

use minijinja::{Environment, Error, ErrorKind, context};

use crate::protocol::ChatMessage;

const TEMPLATE_NAME: &str = "chat_template";

/// How a chat becomes prompt text.
pub struct ChatTemplate {
    env: Option<Environment<'static>>,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.env.is_some() {
            "ChatTemplate(jinja)"
        } else {
            "ChatTemplate(chatml)"
        })
    }
}

impl ChatTemplate {
    /// Compiles a Jinja chat template; the error says where its syntax is wrong.
    pub fn jinja(source: &str) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_template_owned(TEMPLATE_NAME, source.to_string())
            .map_err(|e| {
                format!("chat template (metadata `tokenizer.chat_template`) does not compile: {e}")
            })?;
        Ok(Self { env: Some(env) })
    }

    /// ChatML (`<|im_start|>role\ncontent<|im_end|>\n`), the fallback.
    pub fn chatml() -> Self {
        Self { env: None }
    }

    pub fn is_chatml(&self) -> bool {
        self.env.is_none()
    }

    /// The prompt for `messages`, ending where the assistant's answer starts.
    pub fn render(&self, messages: &[ChatMessage], bos: &str, eos: &str) -> Result<String, String> {
        let Some(env) = &self.env else {
            let mut out = String::new();
            for m in messages {
                out.push_str("<|im_start|>");
                out.push_str(&m.role);
                out.push('\n');
                out.push_str(&m.content);
                out.push_str("<|im_end|>\n");
            }
            out.push_str("<|im_start|>assistant\n");
            return Ok(out);
        };
        let template = env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| format!("chat template: {e}"))?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => true,
                bos_token => bos,
                eos_token => eos,
            })
            .map_err(|e| {
                let mut msg = format!("the model's chat template rejected the messages: {e}");
                if e.kind() == ErrorKind::InvalidOperation
                    && let Some(detail) = e.detail()
                {
                    msg = format!("the model's chat template rejected the messages: {detail}");
                }
                msg
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_fallback() {
        let t = ChatTemplate::chatml();
        let p = t
            .render(&[ChatMessage::system("s"), ChatMessage::user("u")], "", "")
            .unwrap();
        assert_eq!(
            p,
            "<|im_start|>system\ns<|im_end|>\n<|im_start|>user\nu<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn jinja_template_with_python_methods_and_exceptions() {
        let src = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'tool' %}{{ raise_exception('no tools') }}{% endif %}\
                   [{{ m['role'].upper() }}] {{ m['content'].strip() }}\n{% endfor %}{% if add_generation_prompt %}[ASSISTANT]{% endif %}";
        let t = ChatTemplate::jinja(src).unwrap();
        let p = t
            .render(&[ChatMessage::user("  hi  ")], "<s>", "</s>")
            .unwrap();
        assert_eq!(p, "<s>[USER] hi\n[ASSISTANT]");
        let err = t
            .render(
                &[ChatMessage {
                    role: "tool".into(),
                    content: "x".into(),
                }],
                "",
                "",
            )
            .unwrap_err();
        assert!(err.contains("no tools"), "{err}");
        assert!(ChatTemplate::jinja("{% for %}").is_err());
    }
}
