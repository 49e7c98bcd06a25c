"""Knowledge base (知识库): articles with versions, scope and owning unit, Chinese full-text search
(jieba segmentation over SQLite FTS5 / PostgreSQL tsvector), review reminders, public reading."""
