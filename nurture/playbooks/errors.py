"""Errors of the playbooks capability: subclasses of :mod:`nurture.errors`, exit 2 (a user's
mistake: a wrong id, a task done twice, a document sent before its approvals)."""

from __future__ import annotations

from nurture.errors import InputError, NotFoundError


class UnknownRecordError(NotFoundError):
    """No lead, task, deal, document, manager or playbook with that id or name (exit 2)."""

    exit_code = 2


class ConflictError(InputError):
    """The record is not in a state that allows this (done twice, lead already converted,
    document not yet approved); the message says what state it is in."""


__all__ = ["ConflictError", "InputError", "UnknownRecordError"]
