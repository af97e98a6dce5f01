//! A block of an ingested article as the store keeps it: the article it belongs to and the
//! block (id, position, kind, text). Read from and written to `paragraphs.jsonl` by
//! `records`; held in memory by `store`.

use crate::corpus::{ArticleId, Block, BlockKind, ParagraphId};

/// A block of an ingested article, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    article: ArticleId,
    block: Block,
    origin: Origin,
}

/// What `stance import` keeps beside an imported paragraph's text (all `None` for an
/// ingested article's blocks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The record's id in its file (`--id`), hashed into the paragraph id.
    pub key: Option<String>,
    /// The group's name as the file wrote it, when it is not the article id itself.
    pub group: Option<String>,
    /// The split the record was imported into (`train`, `test`).
    pub split: Option<String>,
}

impl Paragraph {
    pub fn new(article: ArticleId, block: Block) -> Paragraph {
        Paragraph {
            article,
            block,
            origin: Origin::default(),
        }
    }

    /// An imported record: one paragraph, its id hashed from article, key and text
    /// ([`Block::imported`]).
    pub fn imported(
        article: ArticleId,
        origin: Origin,
        position: usize,
        text: String,
    ) -> Paragraph {
        let block = Block::imported(&article, origin.key.as_deref(), position, text);
        Paragraph {
            article,
            block,
            origin,
        }
    }

    /// Where an imported paragraph came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The group's name: as the imported file wrote it, else the article id.
    pub fn group_name(&self) -> &str {
        self.origin
            .group
            .as_deref()
            .unwrap_or(self.article.as_str())
    }

    /// The split it was imported into, if any.
    pub fn split(&self) -> Option<&str> {
        self.origin.split.as_deref()
    }

    pub fn id(&self) -> &ParagraphId {
        self.block.id()
    }

    pub fn article(&self) -> &ArticleId {
        &self.article
    }

    /// Zero-based position among the article's blocks.
    pub fn position(&self) -> usize {
        self.block.position()
    }

    pub fn kind(&self) -> BlockKind {
        self.block.kind()
    }

    pub fn text(&self) -> &str {
        self.block.text()
    }

    /// Whether this is body text to be labelled (not a heading or byline).
    pub fn is_labelable(&self) -> bool {
        self.block.kind().is_labelable()
    }
}
