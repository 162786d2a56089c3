package main

import (
	"context"
	"io"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/fieldfix/fieldfix/internal/dbtest"
)

// TestSimServerOnSimulatedClock runs `fieldfix sim` with its own server, 10 s at 600 times the
// wall clock (100 simulated minutes from 09:00 in Lyon): the server's KPIs for the run tell the
// response times the sim measured on its clock (tens of minutes), not the wall-clock seconds the
// visits took, and the report states the simulated span from the start asked for.
func TestSimServerOnSimulatedClock(t *testing.T) {
	s := dbtest.New(t)
	vars := env(map[string]string{"DATABASE_URL": s.URL, "FIELDFIX_TIME_ZONE": "Europe/Paris"})
	paris, _ := time.LoadLocation("Europe/Paris")
	y, m, d := time.Now().In(paris).Date()
	start := time.Date(y, m, d, 9, 0, 0, 0, paris)
	var out lockedBuffer
	err := run(context.Background(), []string{"sim", "--duration", "10s", "--speed", "600", "--rate", "2", "--seed", "3",
		"--start", start.Format(time.RFC3339), "--report", "1h", "--technicians", "40"}, vars, &out, io.Discard)
	if err != nil {
		t.Fatalf("sim: %v\n%s", err, out.String())
	}
	report := out.String()
	t.Log(report)
	span := regexp.MustCompile(`simulated (\S+) \((\w+ \d\d:\d\d) →`).FindStringSubmatch(report)
	if span == nil || span[2] != start.UTC().Format("Mon 15:04") {
		t.Fatalf("the report does not state the simulated day from %s", start.UTC().Format("Mon 15:04"))
	}
	if d, _ := time.ParseDuration(span[1]); d < 90*time.Minute || d > 110*time.Minute {
		t.Fatalf("10 s at 600 simulated %s, want about 100 min", span[1])
	}
	// On one clock a technician leaves when the drive brings them to the planned start: the median
	// arrival is near it (the sim's drive is not the server's model, and a second of a busy
	// machine's lag is 10 simulated minutes), never hours before or after.
	late := regexp.MustCompile(`arrivals after the planned start: median (\S+)`).FindStringSubmatch(report)
	if late == nil {
		t.Fatal("no lateness in the report")
	}
	if d, err := time.ParseDuration(late[1]); err != nil || d < -30*time.Minute || d > 90*time.Minute {
		t.Errorf("median arrival %s after the planned start, on the simulated clock", late[1])
	}
	compared := 0
	for _, tier := range []string{"paid", "warranty"} {
		simLine := regexp.MustCompile(tier + `\s+arrivals (\d+), median response \(booking → on site\) (\S+),`).FindStringSubmatch(report)
		srvLine := regexp.MustCompile(tier + `\s+bookings \d+, SLA met (\d+) missed (\d+) \(compliance [^)]*\), response p50 ([\d.]+) h`).FindStringSubmatch(report)
		if simLine == nil {
			continue
		}
		if srvLine == nil {
			t.Fatalf("%s: the sim saw arrivals but the server's KPIs have no response time", tier)
		}
		arrivals, _ := strconv.Atoi(simLine[1])
		simResp, _ := time.ParseDuration(simLine[2])
		met, _ := strconv.Atoi(srvLine[1])
		missed, _ := strconv.Atoi(srvLine[2])
		hours, _ := strconv.ParseFloat(srvLine[3], 64)
		srvResp := time.Duration(hours * float64(time.Hour))
		if met+missed != arrivals {
			t.Errorf("%s: the server counts %d first arrivals (SLA met %d, missed %d), the sim %d", tier, met+missed, met, missed, arrivals)
		}
		// On the wall clock a visit reached within 100 simulated minutes is seconds after its booking: 0.0 h.
		if srvResp < 5*time.Minute || (srvResp-simResp).Abs() > 10*time.Minute {
			t.Errorf("%s: the server's median response %s, the sim's %s on the simulated clock", tier, srvResp, simResp)
		}
		compared++
	}
	if compared == 0 {
		t.Fatal("no arrival in 100 simulated minutes: nothing to compare")
	}
}
