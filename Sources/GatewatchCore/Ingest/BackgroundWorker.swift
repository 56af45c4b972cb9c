import Foundation

/// A thread that consumes items from a bounded queue: one stage of the ingest pipeline.
///
/// `submit` blocks while the queue is full (back-pressure keeps memory bounded); the first error
/// thrown by the work closure stops the worker and is rethrown by the next `submit` or by
/// `finish`.
///
/// `@unchecked Sendable`: every mutable field is read and written only while `condition` is
/// locked; the work closure runs on the worker thread alone.
final class BackgroundWorker<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [Item] = []
    private let capacity: Int
    private var closed = false
    private var done = false
    private var busy = false
    private var failure: (any Error)?
    /// Set to `nil` by the worker thread before it says it is done, so that what the closure
    /// holds (a writer, its connection) is released before `finish` or `cancel` returns, not
    /// whenever the thread happens to end.
    private var work: ((Item) throws -> Void)?

    /// Starts the worker thread.
    ///
    /// - Parameters:
    ///   - name: The thread name (shows in debuggers and `top -H`).
    ///   - capacity: Items queued before `submit` blocks.
    ///   - work: Runs on the worker thread for each item, in order.
    init(name: String, capacity: Int, work: @escaping (Item) throws -> Void) {
        self.capacity = max(1, capacity)
        self.work = work
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty, !closed { condition.wait() }
            if queue.isEmpty, closed {
                work = nil
                done = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let item = queue.removeFirst()
            busy = true
            condition.broadcast()
            condition.unlock()
            do {
                try work?(item)
                condition.lock()
                busy = false
                condition.broadcast()
                condition.unlock()
            } catch {
                condition.lock()
                failure = error
                queue.removeAll()
                work = nil
                done = true
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }

    /// Queues an item, waiting while the queue is full.
    ///
    /// - Parameter item: The item.
    /// - Throws: The worker's error, if it has failed.
    func submit(_ item: Item) throws {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= capacity, failure == nil, !done { condition.wait() }
        if let failure { throw failure }
        queue.append(item)
        condition.broadcast()
    }

    /// Waits until every queued item is done, leaving the thread running: after this the
    /// caller may use what the work closure uses until it submits again.
    ///
    /// - Throws: The worker's error, if it failed.
    func waitIdle() throws {
        condition.lock()
        defer { condition.unlock() }
        while !queue.isEmpty || busy, failure == nil, !done { condition.wait() }
        if let failure { throw failure }
    }

    /// For the work closure, on the worker thread, in the middle of a long item: runs the items
    /// at the head of the queue that `accept` takes, in order, without waiting for more (a
    /// `submit` blocked on a full queue goes on as they are taken).
    func runQueued(while accept: (Item) -> Bool, _ body: (Item) throws -> Void) throws {
        while true {
            condition.lock()
            guard let first = queue.first, accept(first) else {
                condition.unlock()
                return
            }
            queue.removeFirst()
            condition.broadcast()
            condition.unlock()
            try body(first)
        }
    }

    /// Whether the queue is empty and no item is being worked on, without waiting.
    var isIdle: Bool {
        condition.lock()
        defer { condition.unlock() }
        return queue.isEmpty && !busy
    }

    /// Waits until every queued item is done and the thread has ended.
    ///
    /// - Throws: The worker's error, if it failed.
    func finish() throws {
        condition.lock()
        closed = true
        condition.broadcast()
        while !done { condition.wait() }
        let error = failure
        condition.unlock()
        if let error { throw error }
    }

    /// Stops the worker without waiting for queued items (after an error elsewhere).
    func cancel() {
        condition.lock()
        queue.removeAll()
        closed = true
        condition.broadcast()
        while !done { condition.wait() }
        condition.unlock()
    }
}

/// A worker, for its own work closure (see ``BackgroundWorker/runQueued(while:_:)``): the worker
/// holds the closure, so the closure holds the worker weakly, set once the worker exists.
final class WorkerHandle<Item>: @unchecked Sendable {
    weak var worker: BackgroundWorker<Item>?
}
