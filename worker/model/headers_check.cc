// Temporary: compiles every public header of fc_model until their .cc files land.
#include "worker/model/causal_lm.h"
#include "worker/model/config.h"
#include "worker/model/linear.h"
#include "worker/model/predict.h"
#include "worker/model/safetensors.h"
#include "worker/model/taps.h"
