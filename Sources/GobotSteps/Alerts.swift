import GobotStore
import Notify

/// Alerts go to the outbox, never straight to the network, so a failed send is retried by the
/// next step and a repeated event is not sent twice (the key dedupes).
public enum Alerts {
    public static func send(_ ctx: StepContext, kind: String, key: String, text: String) {
        for m in messages(ctx, kind: kind, key: key, text: text) {
            _ = try? ctx.db.enqueue(channel: "telegram", kind: m.kind, payload: m.payload, dedupeKey: m.dedupeKey, atMs: m.atMs)
        }
    }

    /// An alert as the outbox rows that carry it, for a caller that queues them in the
    /// transaction of the event they report. Split before queueing: each part is sent exactly
    /// once, even if a later part fails.
    public static func messages(_ ctx: StepContext, kind: String, key: String, text: String) -> [QueuedMessage] {
        TelegramClient.split(TelegramClient.escapeHTML(ctx.secrets.scrub(text))).enumerated().map { i, part in
            QueuedMessage(kind: kind, dedupeKey: i == 0 ? key : "\(key)#\(i)", payload: part, atMs: ctx.nowMs)
        }
    }

    /// Queues a PNG (already written to disk) with a caption.
    public static func sendPhoto(_ ctx: StepContext, key: String, path: String, caption: String) {
        _ = try? ctx.db.enqueue(channel: "telegram", kind: "photo", payload: "\(path)\n\(TelegramClient.escapeHTML(caption))", dedupeKey: key, atMs: ctx.nowMs)
    }
}
