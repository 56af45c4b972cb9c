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
                userAgent: userAgent
            )
        }
        if decision.verdict == .direct {
            evidence.rows.append(
                EvidenceBatch.Row(
                    time: timestamp,
                    line: Int64(lineNumber),
                    status: status,
                    substatus: substatus,
                    verdictCode: decision.verdict.code,
                    outcomeCode: decision.outcome.code
                )
            )
            evidence.append(EvidenceField.site, aggregator.siteName(siteID))
            evidence.appendAddress(EvidenceField.address, key.address, invalidText: invalidText)
            evidence.setLastKeyID(seed: aggregator.facts.seeds[Int(factsID)], key)
            evidence.append(EvidenceField.forwardedFor, parser.field(.forwardedFor))
            evidence.append(EvidenceField.method, parser.field(.method))
            evidence.append(EvidenceField.uriStem, stem)
            evidence.append(EvidenceField.uriQuery, parser.field(.uriQuery))
            evidence.append(EvidenceField.userAgent, userAgent)
            evidence.append(EvidenceField.host, parser.field(.host))
            evidence.append(EvidenceField.rule, classifier.ruleText(decision))
            if evidence.isFull { try submitEvidence() }
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
}
