// Replaced by the database harness (embedded PostgreSQL template) in the foundation work.
export default function setup(): void {}
