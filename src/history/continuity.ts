// Does the journal follow the document? Pure: from the document's sequence numbers and the
// journal's header and first record, the problems a person must hear about at start-up.

export interface Continuity {
  event: "journal.gap" | "journal.stale";
  message: string;
  fields: Record<string, unknown>;
}

/**
 * `seq`/`prevSeq`: the document's last folded record and the previous compaction's. `after`: the
 * sequence the journal's header says it follows (null: no header). `first`: its first record.
 */
export function checkContinuity(
  files: { journal: string; document: string },
  doc: { seq: number; prevSeq: number },
  journal: { after: number | null; first: number | null },
): Continuity | null {
  const S = doc.seq;
  const { after, first } = journal;
  const file = files.journal;
  if (after !== null && after > S) {
    return {
      event: "journal.gap",
      message: `${file} follows sequence ${after} but ${files.document} holds only up to ${S}: records ${S + 1}..${after} are missing (the document is older than the journal, e.g. restored separately); the journal's own records are kept`,
      fields: { document_seq: S, journal_after: after },
    };
  }
  // after === prevSeq < S is a compaction that stopped between the document's rename and the
  // journal's restart: every record is already in the document, nothing is wrong.
  if (after !== null && after < S && after !== doc.prevSeq) {
    return {
      event: "journal.stale",
      message: `${file} was started after sequence ${after}, before the document's last compaction (${doc.prevSeq}..${S}): it is older than the document (e.g. restored separately); records after ${S} are applied, older ones were already compacted`,
      fields: { document_seq: S, journal_after: after },
    };
  }
  if (first !== null && first > S + 1 && (after === S || after === null)) {
    return {
      event: "journal.gap",
      message: `${file}: records ${S + 1}..${first - 1} are missing between the document (up to ${S}) and the journal's first record (${first}); jobs recorded then are lost`,
      fields: { document_seq: S, journal_first: first },
    };
  }
  return null;
}
