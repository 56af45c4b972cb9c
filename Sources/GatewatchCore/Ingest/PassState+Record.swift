import Foundation

extension PassState {
    func record() throws {
        guard parser.hasColumn(.clientIP) else {
            counts.skipped += 1
            anomalies.noClientColumn += 1
            return
        }
        let timestamp = parser.timestamp
        let clientBytes = parser.field(.clientIP)
        // D5: a c-ip with a port (`a.b.c.d:port`, `[v6]:port`) is its address; the port forms
        // are tried only when the plain parse fails.
        let peer = clientBytes.flatMap { IPAddress(endpoint: $0) }
        let address: IPAddress?
        if options.clientAddress == .clientIP {
            address = peer
        } else {
            if !parser.hasColumn(.forwardedFor) { anomalies.noForwardedColumn += 1 }
            var fellBack = false
            address = file.ingestor.resolver.resolve(
                peer: peer,
                forwardedFor: parser.field(.forwardedFor),
                fellBack: &fellBack
            )
            if fellBack { anomalies.forwardedForFallbacks += 1 }
        }
        if address == nil { anomalies.invalidAddresses += 1 }
        // `-` is absent, not 0: a request without a status is neither blocked nor served. It is
        // stored with status 0 (no HTTP status is 0) and no outcome; an absent sub-status reads as 0.
        let loggedStatus = parser.number(.status).map { Int32(clamping: $0) }
        let status = loggedStatus ?? 0
        let substatus = Int32(clamping: parser.number(.substatus) ?? 0)
        let userAgent = parser.field(.userAgent)
        // Platform traffic by the rules is a fact of every request, gateway traffic too: a later
        // policy without that gateway judges it from the stored facts (Judgement/).
        let isPlatform = file.ingestor.platform.matches(address: address, userAgent: userAgent)
        let decision = classifier.classify(
            address: address,
            isPlatform: isPlatform,
            status: loggedStatus,
            substatus: substatus,
            loggedIISVersion: parser.loggedIISVersion,
            userAgent: userAgent,
            parser: parser
        )
        if loggedStatus == nil, decision.verdict == .direct { anomalies.noStatus += 1 }
        counts.requests += 1
        times.include(timestamp)
        tally.add(decision.verdict, outcome: decision.outcome)
        let siteID = aggregator.siteID(parser.field(.siteName))
        let invalidID = address == nil ? aggregator.invalidAddressID(clientBytes) : 0
        // The logged text of a `c-ip` that is not an address (no String otherwise).
        let invalidText = invalidID == 0 ? nil : aggregator.addressText(IPAddress(high: 0, low: 0), invalid: invalidID)
        let factsID = factReader.read(parser, isPlatform: isPlatform, userAgent: userAgent, into: &aggregator.facts)
        if Int(decision.decision) >= aggregator.rules.count { aggregator.rules = classifier.rules }
        let key = AggregateKey(
            hour: timestamp - timestamp % 3600,
            site: siteID,
            address: address ?? IPAddress(high: 0, low: 0),
            invalidAddress: invalidID,
            verdict: decision.verdict,
            outcome: decision.outcome,
            status: status,
            substatus: substatus,
            facts: factsID,
            decision: decision.decision
        )
        // Absent sizes and times add nothing to the sums, and no latency sample.
        let timeTaken = parser.number(.timeTaken)
        aggregator.add(key, bytes: parser.number(.bytesSent) ?? 0, timeTaken: timeTaken ?? 0, time: timestamp)
        let day = Int32(truncatingIfNeeded: timestamp >= 0 ? timestamp / 86_400 : (timestamp - 86_399) / 86_400)
        let stem = parser.field(.uriStem)
        if let timeTaken {
            inventories.addLatency(
                day: day,
                site: siteID,
                endpoint: stem.map { inventories.templateID($0) },
                verdictCode: decision.verdict.code,
                milliseconds: timeTaken
            )
        }
        if decision.verdict != .gateway {
            inventories.addInventory(
                day: day,
                address: key.address,
                invalidAddress: invalidID,
                endpoint: stem.map { inventories.endpoints.id($0) },
                method: parser.field(.method),
                userAgent: userAgent,
                request: Inventories.DirectOutcome(verdict: decision.verdict, outcome: decision.outcome)
            )
        }
        if decision.verdict == .direct {
            inventories.directMinutes.add(time: timestamp, key)
            if sampler != nil {
                let group = EvidenceSampler.Group(
                    address: key.address,
                    invalidAddress: invalidID,
                    day: day,
                    outcomeCode: key.outcomeCode
                )
                switch sampler?.place(group, time: timestamp, heldCount: heldLatest.count) {
                case .keep:
                    appendEvidence(to: &evidence, time: timestamp, key: key, decision: decision)
                    if evidence.isFull { try submitEvidence() }
                case .latest(let row):
                    appendEvidence(to: &heldLatest, time: timestamp, key: key, decision: decision)
                    heldLatest.moveLastRow(to: row)
                    if heldLatest.arenaBytes > 1 << 22, heldLatest.arenaBytes > 4 * heldLatest.liveTextBytes {
                        heldLatest = heldLatest.compacted()
                    }
                case .drop, nil:
                    break
                }
            } else if keepsEvidence {
                appendEvidence(to: &evidence, time: timestamp, key: key, decision: decision)
                if evidence.isFull { try submitEvidence() }
            }
        } else if decision.verdict == .gateway, options.keepGatewayRequests || parser.hasColumn(.requestID) {
            gatewayRequests.rows.append(
                EvidenceBatch.Row(
                    time: timestamp,
                    line: Int64(lineNumber),
                    status: status,
                    substatus: substatus,
                    verdictCode: 0,
                    outcomeCode: 0
                )
            )
            gatewayRequests.append(GatewayRequestField.site, aggregator.siteName(siteID))
            gatewayRequests.appendAddress(GatewayRequestField.address, key.address, invalidText: invalidText)
            gatewayRequests.append(GatewayRequestField.method, parser.field(.method) ?? Self.emptyBytes)
            gatewayRequests.append(GatewayRequestField.path, stem ?? Self.emptyBytes)
            let requestID = parser.field(.requestID)
            gatewayRequests.append(GatewayRequestField.requestID, requestID)
            if requestID != nil, let name = parser.currentLayout.requestIDFieldName {
                gatewayRequests.append(GatewayRequestField.requestIDField, name)
            } else {
                gatewayRequests.append(GatewayRequestField.requestIDField, nil as UnsafeRawBufferPointer?)
            }
            if gatewayRequests.isFull { try submitEvidence() }
        }
        let heldRows = aggregator.count + inventories.count
        if heldRows >= flushThreshold, transaction.isOpen || heldRows >= Self.deferredAggregateLimit {
            try handFlush(to: try startWriterThread(try activeWriter()))
        }
    }

    /// Appends the evidence row of the request just parsed to `batch`.
    @inline(__always)
    func appendEvidence(to batch: inout EvidenceBatch, time: Int64, key: AggregateKey, decision: Classification) {
        batch.rows.append(
            EvidenceBatch.Row(
                time: time,
                line: Int64(lineNumber),
                status: key.status,
                substatus: key.substatus,
                verdictCode: key.verdictCode,
                outcomeCode: key.outcomeCode
            )
        )
        batch.append(EvidenceField.site, aggregator.siteName(key.site))
        batch.appendAddress(
            EvidenceField.address,
            key.address,
            invalidText: key.invalidAddress == 0
                ? nil : aggregator.addressText(key.address, invalid: key.invalidAddress)
        )
        batch.setLastKeyID(seed: aggregator.facts.seeds[Int(key.facts)], key)
        batch.append(EvidenceField.forwardedFor, parser.field(.forwardedFor))
        batch.append(EvidenceField.method, parser.field(.method))
        batch.append(EvidenceField.uriStem, parser.field(.uriStem))
        batch.append(EvidenceField.uriQuery, parser.field(.uriQuery))
        batch.append(EvidenceField.userAgent, parser.field(.userAgent))
        batch.append(EvidenceField.host, parser.field(.host))
        batch.append(EvidenceField.rule, classifier.ruleText(decision))
    }
}
