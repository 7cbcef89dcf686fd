package store_test

import (
	"testing"

	"github.com/vigil-rpm/vigil/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
