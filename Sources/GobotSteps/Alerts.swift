import GobotStore

/// Alerts go to the outbox, never straight to the network, so a failed send is retried by the
/// next step and a repeated event is not sent twice (the key dedupes).
public enum Alerts {
    public static func send(_ ctx: StepContext, kind: String, key: String, text: String) {
        _ = try? ctx.db.enqueue(channel: "telegram", kind: kind, payload: ctx.secrets.scrub(text), dedupeKey: key, atMs: ctx.nowMs)
    }
}
