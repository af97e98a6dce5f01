//! A block of an ingested article as the store keeps it: the article it belongs to and the
//! block (id, position, kind, text). Read from and written to `paragraphs.jsonl` by
//! `records`; held in memory by `store`.

use crate::corpus::{ArticleId, Block, BlockKind, ParagraphId};

/// A block of an ingested article, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    article: ArticleId,
    block: Block,
}

impl Paragraph {
    pub fn new(article: ArticleId, block: Block) -> Paragraph {
        Paragraph { article, block }
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
