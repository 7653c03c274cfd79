package bench

import "os"

// EnvBench enables the long benchmark tests in go test.
const EnvBench = "XPFLOW_BENCH"

func benchEnabled() bool { return os.Getenv(EnvBench) == "1" }
