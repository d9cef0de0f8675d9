package benchmarks

// Cases is the full suite in report order; the Smoke ones (one per
// section) are what CI runs.
func Cases() []Case {
	return []Case{
		cpuMaxCase(0.25, false), cpuMaxCase(0.5, true), cpuMaxCase(1.5, false),
		cpuWeightCase(), cpusetCase(),
		memoryMaxCase(false), memoryHighCase(), memoryLowCase(), swapMaxCase(), pidsMaxCase(),
		ioMaxCase("rbps", false), ioMaxCase("wbps", false), ioMaxCase("riops", false), ioMaxCase("wiops", false),
		ioBufferedCase(false), ioWeightCase(),
		netCase([]uint64{10, 50, 200}, false), netTenantCase(20, false),
		quotaCase(), quotaExt4Case(),
		splitCase(false), splitMemPidsCase(),
		// Reaction runs before protection (the report groups by section):
		// it needs a calm host, which the protection antagonists are not.
		reactionCase("psi-triggered", true), reactionCase("polled", false), memoryReactionCase(false),
		protectionCase("cpu", true), protectionCase("io", false), protectionCase("memory", false),
		overheadCase(100, true), overheadCase(1000, false), overheadCase(10000, false),
	}
}

// SystemdCases need systemd as PID 1: systemd-oomd side by side with
// quelld on the same memory antagonist.
func SystemdCases() []Case {
	return []Case{oomdCase(false, false), oomdCase(true, false), quellMemoryCase(false)}
}
