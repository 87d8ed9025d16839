import GobotStore
import Notify

/// Alerts go to the outbox, never straight to the network, so a failed send is retried by the
/// next step and a repeated event is not sent twice (the key dedupes).
public enum Alerts {
    public static func send(_ ctx: StepContext, kind: String, key: String, text: String) {
        // Split before queueing: each part is sent exactly once, even if a later part fails.
        let parts = TelegramClient.split(TelegramClient.escapeHTML(ctx.secrets.scrub(text)))
        for (i, part) in parts.enumerated() {
            _ = try? ctx.db.enqueue(channel: "telegram", kind: kind, payload: part, dedupeKey: i == 0 ? key : "\(key)#\(i)", atMs: ctx.nowMs)
        }
    }

    /// Queues a PNG (already written to disk) with a caption.
    public static func sendPhoto(_ ctx: StepContext, key: String, path: String, caption: String) {
        _ = try? ctx.db.enqueue(channel: "telegram", kind: "photo", payload: "\(path)\n\(TelegramClient.escapeHTML(caption))", dedupeKey: key, atMs: ctx.nowMs)
    }
}
