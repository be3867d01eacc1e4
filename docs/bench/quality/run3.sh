#!/bin/bash
# usage: run3.sh <bindir> <tag> <seed> [extra args]
bin=$1; tag=$2; seed=$3; shift 3
for d in 2014-12-18 2014-12-17 2014-12-16; do
  if [ -n "$DUMP" ]; then export QX_DUMP=/tmp/qres/dump-$tag-s$seed-$d.csv; fi
  dotnet $bin/cvr.dll evaluate --data /tmp/q-sample --day $d --network-size small --epochs ${EPOCHS:-2} --batch-size ${BATCH:-128} --threads 1 --lightgbm-iterations ${LGB:-0} --seed $seed --json "$@" > /tmp/qres/$tag-s$seed-$d.json 2>/tmp/qres/$tag-s$seed-$d.err
done
echo finished > /tmp/qres/$tag-s$seed.done
