"""Review store: anonymized conversations, escalations, tags, notes, users, sessions, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-12-01 20:27:27.914891
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the review store's tables and indexes."""
    op.create_table('review_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_audit_at'), ['at'], unique=False)

    op.create_table('review_conversation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('last_event_at', sa.DateTime(), nullable=False),
    sa.Column('user_turns', sa.Integer(), nullable=False),
    sa.Column('max_crisis_level', sa.String(length=10), nullable=False),
    sa.Column('reached_reflection', sa.Boolean(), nullable=False),
    sa.Column('requested_therapist', sa.Boolean(), nullable=False),
    sa.Column('fallbacks', sa.Integer(), nullable=False),
    sa.Column('review_status', sa.String(length=20), nullable=False),
    sa.Column('steps', sa.Text(), nullable=False),
    sa.Column('slots', sa.Text(), nullable=False),
    sa.Column('pseudonyms', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('review_conversation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_conversation_max_crisis_level'), ['max_crisis_level'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_conversation_review_status'), ['review_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_conversation_started_at'), ['started_at'], unique=False)

    op.create_table('review_ingest_checkpoint',
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )
    op.create_table('review_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('review_escalation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.Column('recognized', sa.Boolean(), nullable=True),
    sa.Column('respectful', sa.Boolean(), nullable=True),
    sa.Column('right_resource', sa.Boolean(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('reviewed_by', sa.String(length=80), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['review_conversation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review_escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_escalation_level'), ['level'], unique=False)
        batch_op.create_index('ix_review_escalation_pending', ['reviewed_at'], unique=False)

    op.create_table('review_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('intent', sa.String(length=80), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('crisis_level', sa.String(length=10), nullable=False),
    sa.Column('crisis_category', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['review_conversation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'seq')
    )
    op.create_table('review_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['review_conversation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('review_session',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['review_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('review_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_session_expires_at'), ['expires_at'], unique=False)

    op.create_table('review_tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['review_conversation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'tag')
    )
    with op.batch_alter_table('review_tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_tag_tag'), ['tag'], unique=False)



def downgrade() -> None:
    """Drop every review-store table."""
    with op.batch_alter_table('review_tag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_tag_tag'))

    op.drop_table('review_tag')
    with op.batch_alter_table('review_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_session_expires_at'))

    op.drop_table('review_session')
    op.drop_table('review_note')
    op.drop_table('review_event')
    with op.batch_alter_table('review_escalation', schema=None) as batch_op:
        batch_op.drop_index('ix_review_escalation_pending')
        batch_op.drop_index(batch_op.f('ix_review_escalation_level'))

    op.drop_table('review_escalation')
    op.drop_table('review_user')
    op.drop_table('review_ingest_checkpoint')
    with op.batch_alter_table('review_conversation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_conversation_started_at'))
        batch_op.drop_index(batch_op.f('ix_review_conversation_review_status'))
        batch_op.drop_index(batch_op.f('ix_review_conversation_max_crisis_level'))

    op.drop_table('review_conversation')
    with op.batch_alter_table('review_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_audit_at'))

    op.drop_table('review_audit')
