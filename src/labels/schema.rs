//! The label schema: which classes exist, in which order, and what each one means.
//!
//! Read from `schema.toml` in the store (raw serde struct → [`Schema::check`]); a class is
//! then referred to by its index ([`ClassIdx`]), which can only come from the schema, so a
//! label outside the schema cannot be held.

use std::fmt;

use serde::Deserialize;

/// The classes of a new store: name and one-line definition, in order.
const DEFAULT_CLASSES: [(&str, &str); 3] = [
    (
        "fracturing",
        "the alignment is weakening, divided or distrustful, or one member is turning away from another or playing them off against each other",
    ),
    (
        "stable",
        "the alignment holds or tightens as a bloc on lasting shared interests, or its visible strains are played down as tactical",
    ),
    (
        "neither",
        "not about how cohesive the alignment is: background events, threats at third countries, others' reactions, fragments",
    ),
];

/// The raw file, before checking.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchema {
    #[serde(default)]
    class: Vec<RawClass>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    name: String,
    definition: String,
    #[serde(default)]
    key: Option<String>,
}

/// One class: a name, a one-line definition, and the key `stance label` labels it with, if
/// the schema sets one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    name: String,
    definition: String,
    key: Option<char>,
}

impl Class {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key set in the schema (`key = "1"`): a lowercase letter or a digit.
    pub fn key(&self) -> Option<char> {
        self.key
    }

    pub fn definition(&self) -> &str {
        &self.definition
    }
}

/// The index of a class in its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClassIdx(usize);

impl ClassIdx {
    pub fn index(self) -> usize {
        self.0
    }
}

/// A checked schema: at least two classes, names unique and well-formed, definitions on one
/// line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    classes: Vec<Class>,
}

/// Why a schema file is not a valid schema (the store adds the path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("line {line}: {message}")]
    Toml { line: usize, message: String },
    #[error("a schema needs at least two classes, found {found}")]
    TooFewClasses { found: usize },
    #[error(
        "class name `{name}` is not valid (lowercase letters, digits, `_`, `-`, starting with a letter)"
    )]
    BadName { name: String },
    #[error("class `{name}` appears twice")]
    Duplicate { name: String },
    #[error("class `{name}` needs a one-line definition")]
    BadDefinition { name: String },
    #[error("class `{name}`: key = \"{key}\" is not one lowercase letter or digit")]
    BadKey { name: String, key: String },
    #[error("classes `{first}` and `{second}` both set key = \"{key}\"")]
    DuplicateKey {
        key: char,
        first: String,
        second: String,
    },
}

impl Schema {
    /// Parses and checks a `schema.toml`.
    pub fn from_toml(text: &str) -> Result<Schema, SchemaError> {
        let raw: RawSchema = toml::from_str(text).map_err(|err| SchemaError::Toml {
            line: err
                .span()
                .map_or(1, |span| line_of_offset(text, span.start)),
            message: err.message().to_owned(),
        })?;
        Schema::check(raw)
    }

    fn check(raw: RawSchema) -> Result<Schema, SchemaError> {
        if raw.class.len() < 2 {
            return Err(SchemaError::TooFewClasses {
                found: raw.class.len(),
            });
        }
        let mut classes: Vec<Class> = Vec::with_capacity(raw.class.len());
        for RawClass {
            name,
            definition,
            key,
        } in raw.class
        {
            if !Schema::is_valid_name(&name) {
                return Err(SchemaError::BadName { name });
            }
            if classes.iter().any(|class| class.name == name) {
                return Err(SchemaError::Duplicate { name });
            }
            let definition = definition.trim().to_owned();
            if definition.is_empty() || definition.contains(['\n', '\r']) {
                return Err(SchemaError::BadDefinition { name });
            }
            let key = match key {
                None => None,
                Some(key) => {
                    let mut chars = key.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) if c.is_ascii_lowercase() || c.is_ascii_digit() => Some(c),
                        _ => return Err(SchemaError::BadKey { name, key }),
                    }
                }
            };
            if let Some(c) = key
                && let Some(other) = classes.iter().find(|class| class.key == Some(c))
            {
                return Err(SchemaError::DuplicateKey {
                    key: c,
                    first: other.name.clone(),
                    second: name,
                });
            }
            classes.push(Class {
                name,
                definition,
                key,
            });
        }
        Ok(Schema { classes })
    }

    /// A schema of these classes (name, one-line definition), checked as a file's would be.
    pub fn new(classes: Vec<(String, String)>) -> Result<Schema, SchemaError> {
        Schema::check(RawSchema {
            class: classes
                .into_iter()
                .map(|(name, definition)| RawClass {
                    name,
                    definition,
                    key: None,
                })
                .collect(),
        })
    }

    /// Whether `name` can name a class: lowercase letters, digits, `_`, `-`, starting with a
    /// letter.
    pub fn is_valid_name(name: &str) -> bool {
        name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    }

    /// The schema of a new store: `fracturing`, `stable`, `neither`.
    pub fn default_schema() -> Schema {
        let classes = DEFAULT_CLASSES
            .iter()
            .map(|&(name, definition)| Class {
                name: name.to_owned(),
                definition: definition.to_owned(),
                key: None,
            })
            .collect();
        Schema { classes }
    }

    /// The schema as the text of a `schema.toml`, with a comment for people editing it.
    pub fn to_toml(&self) -> String {
        let mut out = String::from(
            "# The label classes of this store, in order, each with a one-line definition.\n\
             # `stance label` labels a class with its first letter, or with the key set by\n\
             # `key = \"1\"` (a lowercase letter or a digit); number keys 1-9 work too.\n\
             # Class names: lowercase letters, digits, `_` and `-`, starting with a letter.\n",
        );
        for class in &self.classes {
            let definition = toml::Value::String(class.definition.clone());
            out.push_str(&format!(
                "\n[[class]]\nname = \"{}\"\ndefinition = {definition}\n",
                class.name
            ));
            if let Some(key) = class.key {
                out.push_str(&format!("key = \"{key}\"\n"));
            }
        }
        out
    }

    /// The classes in schema order.
    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// The class called `name`, if any.
    pub fn index_of(&self, name: &str) -> Option<ClassIdx> {
        self.classes
            .iter()
            .position(|class| class.name == name)
            .map(ClassIdx)
    }

    pub fn class(&self, idx: ClassIdx) -> &Class {
        &self.classes[idx.0]
    }

    /// All indices, in schema order.
    pub fn indices(&self) -> impl Iterator<Item = ClassIdx> + use<> {
        (0..self.classes.len()).map(ClassIdx)
    }

    /// `fracturing, stable, neither`: for error messages.
    pub fn names(&self) -> NameList<'_> {
        NameList(self)
    }
}

/// The class names joined by commas.
#[derive(Debug, Clone, Copy)]
pub struct NameList<'s>(&'s Schema);

impl fmt::Display for NameList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, class) in self.0.classes.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&class.name)?;
        }
        Ok(())
    }
}

/// One-based line number of a byte offset.
fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml: &str, expected: Result<&[&str], &str>) {
        let got = Schema::from_toml(toml);
        match (got, expected) {
            (Ok(schema), Ok(names)) => {
                let got: Vec<&str> = schema.classes().iter().map(Class::name).collect();
                assert_eq!(got, names);
            }
            (Err(err), Err(message)) => assert_eq!(err.to_string(), message),
            (got, expected) => panic!("got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn default_schema_round_trips_through_toml() {
        let schema = Schema::default_schema();
        check(&schema.to_toml(), Ok(&["fracturing", "stable", "neither"]));
        assert_eq!(Schema::from_toml(&schema.to_toml()), Ok(schema));
    }

    #[test]
    fn rejects_bad_schemas() {
        let class = |name: &str| format!("[[class]]\nname = \"{name}\"\ndefinition = \"d\"\n");
        check(
            &class("only"),
            Err("a schema needs at least two classes, found 1"),
        );
        check(
            &format!("{}{}", class("a"), class("a")),
            Err("class `a` appears twice"),
        );
        check(
            &format!("{}{}", class("a"), class("Big")),
            Err(
                "class name `Big` is not valid (lowercase letters, digits, `_`, `-`, starting with a letter)",
            ),
        );
        check(
            "[[class]]\nname = \"a\"\ndefinition = \"  \"\n[[class]]\nname = \"b\"\ndefinition = \"d\"\n",
            Err("class `a` needs a one-line definition"),
        );
        check(
            "[[class]]\nname = \"a\"\ndefinition = \"d\"\ncolour = 1\n",
            Err("line 4: unknown field `colour`, expected one of `name`, `definition`, `key`"),
        );
        let keyed = |name: &str, key: &str| {
            format!("[[class]]\nname = \"{name}\"\ndefinition = \"d\"\nkey = \"{key}\"\n")
        };
        check(
            &format!("{}{}", keyed("left", "1"), keyed("right", "ab")),
            Err("class `right`: key = \"ab\" is not one lowercase letter or digit"),
        );
        check(
            &format!("{}{}", keyed("left", "L"), class("right")),
            Err("class `left`: key = \"L\" is not one lowercase letter or digit"),
        );
        check(
            &format!("{}{}", keyed("left", "1"), keyed("right", "1")),
            Err("classes `left` and `right` both set key = \"1\""),
        );
    }

    #[test]
    fn keys_set_in_the_schema_round_trip() {
        let text = "[[class]]\nname = \"left\"\ndefinition = \"d\"\nkey = \"1\"\n\
                    [[class]]\nname = \"right\"\ndefinition = \"d\"\n";
        let schema = Schema::from_toml(text).unwrap();
        let keys: Vec<Option<char>> = schema.classes().iter().map(Class::key).collect();
        assert_eq!(keys, [Some('1'), None]);
        assert_eq!(Schema::from_toml(&schema.to_toml()), Ok(schema));
    }

    #[test]
    fn resolves_names_to_indices() {
        let schema = Schema::default_schema();
        let stable = schema.index_of("stable").unwrap();
        assert_eq!(stable.index(), 1);
        assert_eq!(schema.class(stable).name(), "stable");
        assert_eq!(schema.index_of("Stable"), None);
        assert_eq!(schema.names().to_string(), "fracturing, stable, neither");
    }
}
