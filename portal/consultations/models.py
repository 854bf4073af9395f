"""Draft laws under public discussion, their articles, comments, campaigns and answers.

Times are naive UTC. The rules live in `domain.py` (pure); services map rows to its states.
Campaigns (clusters of near-duplicate comments) are stored here so the public pages can show
a campaign as one position; `portal.moderation` computes them.
"""

from portal.accounts.models import utcnow
from portal.extensions import db
from portal.i18n import localized

DRAFT_KINDS = ("law", "bylaw", "concept", "budget_programme")
DRAFT_STATUSES = ("draft", "open", "closed", "report_published")
STANCES = ("support", "object", "reword")
COMMENT_STATUSES = ("pending", "published", "hidden", "rejected")
REJECT_REASONS = ("spam", "abuse", "off_topic", "personal_data", "duplicate")
DECISIONS = ("accepted", "partly_accepted", "not_accepted")


class Draft(db.Model):
    __tablename__ = "draft"
    __table_args__ = (
        db.CheckConstraint(f"kind IN {DRAFT_KINDS!r}", name="kind_known"),
        db.CheckConstraint(f"status IN {DRAFT_STATUSES!r}", name="status_known"),
    )

    id = db.Column(db.Integer, primary_key=True)
    title_kk = db.Column(db.String(300), nullable=False, default="")
    title_ru = db.Column(db.String(300), nullable=False, default="")
    title_en = db.Column(db.String(300), nullable=False, default="")
    summary_kk = db.Column(db.Text, nullable=False, default="")
    summary_ru = db.Column(db.Text, nullable=False, default="")
    summary_en = db.Column(db.Text, nullable=False, default="")
    agency = db.Column(db.String(200), nullable=False)
    kind = db.Column(db.String(20), nullable=False)
    # None: a national draft.
    region_id = db.Column(db.Integer, db.ForeignKey("region.id"), nullable=True, index=True)
    explanatory_note = db.Column(db.Text, nullable=False, default="")
    preamble = db.Column(db.Text, nullable=False, default="")
    # The language of the text in the articles' plain columns ("kk", "ru", "en"; None: not
    # known), and of the other state language's text in their _kk/_ru columns (None: one text).
    text_language = db.Column(db.String(2), nullable=True)
    second_language = db.Column(db.String(2), nullable=True)
    preamble_kk = db.Column(db.Text, nullable=True)
    preamble_ru = db.Column(db.Text, nullable=True)
    status = db.Column(db.String(20), nullable=False, default="draft", index=True)
    period_start = db.Column(db.DateTime, nullable=True)
    period_end = db.Column(db.DateTime, nullable=True)  # exclusive
    closed_at = db.Column(db.DateTime, nullable=True)
    answer_due = db.Column(db.DateTime, nullable=True, index=True)  # exclusive
    created_by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    region = db.relationship("Region")
    articles = db.relationship(
        "Article", back_populates="draft", order_by="Article.position", cascade="all"
    )
    extensions = db.relationship(
        "DraftExtension", back_populates="draft", order_by="DraftExtension.at", cascade="all"
    )

    @property
    def title(self):
        return localized(self, "title")

    @property
    def summary(self):
        return localized(self, "summary")

    @property
    def languages(self):
        """The languages the text can be read in, the original first ([] if not known)."""
        return [lang for lang in (self.text_language, self.second_language) if lang]


class Article(db.Model):
    __tablename__ = "draft_article"
    __table_args__ = (db.UniqueConstraint("draft_id", "position"),)

    id = db.Column(db.Integer, primary_key=True)
    draft_id = db.Column(db.Integer, db.ForeignKey("draft.id"), nullable=False)
    position = db.Column(db.Integer, nullable=False)
    number = db.Column(db.String(20), nullable=False)
    title = db.Column(db.String(500), nullable=False, default="")
    chapter = db.Column(db.String(300), nullable=False, default="")
    text = db.Column(db.Text, nullable=False, default="")
    # The draft's second text (portal.bilingual): the same article in the other state language.
    title_kk = db.Column(db.String(500), nullable=True)
    title_ru = db.Column(db.String(500), nullable=True)
    chapter_kk = db.Column(db.String(300), nullable=True)
    chapter_ru = db.Column(db.String(300), nullable=True)
    text_kk = db.Column(db.Text, nullable=True)
    text_ru = db.Column(db.Text, nullable=True)

    draft = db.relationship("Draft", back_populates="articles")
    paragraphs = db.relationship(
        "Paragraph", back_populates="article", order_by="Paragraph.position", cascade="all"
    )


class Paragraph(db.Model):
    __tablename__ = "draft_paragraph"
    __table_args__ = (db.UniqueConstraint("article_id", "position"),)

    id = db.Column(db.Integer, primary_key=True)
    article_id = db.Column(db.Integer, db.ForeignKey("draft_article.id"), nullable=False)
    position = db.Column(db.Integer, nullable=False)
    number = db.Column(db.String(20), nullable=False, default="")
    text = db.Column(db.Text, nullable=False, default="")
    text_kk = db.Column(db.Text, nullable=True)
    text_ru = db.Column(db.Text, nullable=True)

    article = db.relationship("Article", back_populates="paragraphs")


class DraftExtension(db.Model):
    """A public record of a discussion period extension and its written reason."""

    __tablename__ = "draft_extension"

    id = db.Column(db.Integer, primary_key=True)
    draft_id = db.Column(db.Integer, db.ForeignKey("draft.id"), nullable=False, index=True)
    old_end = db.Column(db.DateTime, nullable=False)
    new_end = db.Column(db.DateTime, nullable=False)
    reason = db.Column(db.Text, nullable=False)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
    by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=False)

    draft = db.relationship("Draft", back_populates="extensions")


class DraftVote(db.Model):
    """A resident's one-time mark on the whole draft: supported or not."""

    __tablename__ = "draft_vote"
    __table_args__ = (db.UniqueConstraint("draft_id", "user_id"),)

    id = db.Column(db.Integer, primary_key=True)
    draft_id = db.Column(db.Integer, db.ForeignKey("draft.id"), nullable=False)
    user_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=False)
    supports = db.Column(db.Boolean, nullable=False)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)


class DraftVoteCount(db.Model):
    """A draft's support and oppose marks, kept by triggers on `draft_vote` (migration
    draftdash_02): the draft page reads this row instead of counting every mark."""

    __tablename__ = "draft_vote_count"

    draft_id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    support = db.Column(db.Integer, nullable=False, default=0)
    oppose = db.Column(db.Integer, nullable=False, default=0)


class Campaign(db.Model):
    """A cluster of near-duplicate comments on a draft (a mass campaign)."""

    __tablename__ = "comment_campaign"
    # The biggest campaigns of a draft first, read in index order.
    __table_args__ = (db.Index("ix_comment_campaign_draft_size", "draft_id", "size", "id"),)

    id = db.Column(db.Integer, primary_key=True)
    draft_id = db.Column(db.Integer, db.ForeignKey("draft.id"), nullable=False, index=True)
    size = db.Column(db.Integer, nullable=False)
    # The comment shown for the campaign (no foreign key: comment points here already).
    representative_id = db.Column(db.Integer, nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class Comment(db.Model):
    __tablename__ = "comment"
    __table_args__ = (
        db.CheckConstraint(f"stance IN {STANCES!r}", name="stance_known"),
        db.CheckConstraint(f"status IN {COMMENT_STATUSES!r}", name="status_known"),
        db.CheckConstraint(
            f"reject_reason IS NULL OR reject_reason IN {REJECT_REASONS!r}", name="reason_known"
        ),
        db.CheckConstraint(f"decision IS NULL OR decision IN {DECISIONS!r}", name="decision_known"),
        # The queue: one draft's comments in a state, newest or oldest first (keyset on id).
        db.Index("ix_comment_draft_status_id", "draft_id", "status", "id"),
        # The region's queue (all its drafts): one state in id order, the draft read from
        # the index; by draft it would be one sorted run per draft, merged by a sort.
        db.Index("ix_comment_status_id", "status", "id", "draft_id"),
        db.Index("ix_comment_draft_article_id", "draft_id", "article_id", "id"),
        db.Index("ix_comment_draft_reported", "draft_id", "report_count"),
        # Public positions of one article (singles by id, campaigns grouped) and the counts
        # of a draft's comments: both read only that draft's rows, from the index.
        db.Index("ix_comment_positions", "draft_id", "status", "article_id", "campaign_id", "id"),
        db.Index(
            "ix_comment_draft_stats", "draft_id", "status", "article_id", "stance", "decision"
        ),
        db.Index("ix_comment_campaign_status", "campaign_id", "status"),
        db.Index("ix_comment_draft_answered", "draft_id", "answered_at"),
        # The summary table: one article's published comments in id order (a slice each).
        db.Index("ix_comment_summary", "draft_id", "status", "article_id", "id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    draft_id = db.Column(db.Integer, db.ForeignKey("draft.id"), nullable=False)
    article_id = db.Column(db.Integer, db.ForeignKey("draft_article.id"), nullable=True)
    paragraph_id = db.Column(db.Integer, db.ForeignKey("draft_paragraph.id"), nullable=True)
    author_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=False, index=True)
    stance = db.Column(db.String(10), nullable=False)
    # Sanitised with bleach: safe HTML (no tags except generated links).
    text = db.Column(db.Text, nullable=False)
    proposed_wording = db.Column(db.Text, nullable=False, default="")
    # The language of the draft's text the author read (None: the original); the proposed
    # wording is compared with that text.
    text_language = db.Column(db.String(2), nullable=True)
    status = db.Column(db.String(10), nullable=False, default="pending")
    reject_reason = db.Column(db.String(20), nullable=True)
    report_count = db.Column(db.Integer, nullable=False, default=0)
    topic = db.Column(db.String(60), nullable=True)
    campaign_id = db.Column(
        db.Integer, db.ForeignKey("comment_campaign.id"), nullable=True, index=True
    )
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    moderated_at = db.Column(db.DateTime, nullable=True)
    moderated_by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)
    decision = db.Column(db.String(20), nullable=True)
    justification = db.Column(db.Text, nullable=False, default="")
    new_wording = db.Column(db.Text, nullable=False, default="")
    answered_at = db.Column(db.DateTime, nullable=True)
    answered_by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)

    draft = db.relationship("Draft")
    article = db.relationship("Article")
    paragraph = db.relationship("Paragraph")
    author = db.relationship("User", foreign_keys=[author_id])
    campaign = db.relationship("Campaign", foreign_keys=[campaign_id])


class CommentCount(db.Model):
    """Published comments of a draft per article and stance, kept by database triggers on
    `comment` (migration counters_01) so that every way a comment is published, hidden,
    rejected, moved or deleted (ORM, bulk UPDATE, bulk INSERT) counts: the draft and article
    pages read these few rows instead of counting 100,000 comments per request.

    `article_key` is the article id, 0 for general comments (a key column cannot be NULL);
    no foreign keys, so deleting a draft or an article never has to go through this cache.
    """

    __tablename__ = "comment_count"

    draft_id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    article_key = db.Column(db.Integer, primary_key=True, autoincrement=False)
    stance = db.Column(db.String(10), primary_key=True)
    published = db.Column(db.Integer, nullable=False, default=0)


class CommentTally(db.Model):
    """All comments of a draft per article, stance, status and decision ('' for none), kept
    by triggers on `comment` (migration draftdash_01) like CommentCount: the staff draft
    dashboard reads these few rows instead of grouping every comment of the draft.
    """

    __tablename__ = "comment_tally"

    draft_id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    article_key = db.Column(db.Integer, primary_key=True, autoincrement=False)
    stance = db.Column(db.String(10), primary_key=True)
    status = db.Column(db.String(10), primary_key=True)
    decision = db.Column(db.String(20), primary_key=True)
    comments = db.Column(db.Integer, nullable=False, default=0)


class CommentWait(db.Model):
    """Answered comments of a draft per answer wait, in whole tenths of a day (whole seconds
    between created_at and answered_at, floored): the dashboard's median and 90th percentile
    come from at most ten rows per day of waiting, whatever the number of answers. Kept by
    the same triggers as CommentTally.
    """

    __tablename__ = "comment_wait"

    draft_id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    tenths = db.Column(db.Integer, primary_key=True, autoincrement=False)
    comments = db.Column(db.Integer, nullable=False, default=0)


class CommentReport(db.Model):
    """One resident's report of a published comment (once per resident)."""

    __tablename__ = "comment_report"
    __table_args__ = (db.UniqueConstraint("comment_id", "user_id"),)

    id = db.Column(db.Integer, primary_key=True)
    comment_id = db.Column(db.Integer, db.ForeignKey("comment.id"), nullable=False)
    user_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=False)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
