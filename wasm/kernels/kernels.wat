;; CamLens compute kernels in WebAssembly SIMD (128-bit, f32x4).
;;
;; The module has no memory of its own: it imports the Go instance's linear
;; memory as env.mem, and every pointer argument is a byte offset into it
;; (a Go slice's data pointer). The Go side (wasm/kernels, simd.go) checks
;; every size before a call; these functions trust their arguments and
;; write raw memory.
;;
;; Assembled with wabt: wat2wasm kernels.wat -o kernels.wasm
;; (scripts/build does this; wasm/kernels.Assemble).
;;
;; Exports (all matrices row-major, all planes H×W row-major, float32):
;;   abi() → i32                       the ABI version, checked by the Go side
;;   gemm(m, n, k, a, b, c, acc)       C[m×n] (+)= A[m×k]·B[k×n]
;;   dw3x3(planes, mult, h, w, oh, ow, sh, sw, pt, pl, x, f, bias, hasBias, y, scratch)
;;   dw3x3grad(planes, mult, h, w, oh, ow, sh, sw, pt, pl, f, gy, gx, scratch)
;;   setrows(rows, n, v, y)            y[r·n+i] = v[r]
;;   relu(n, x, y)                     y = max(x, 0), NaNs kept
;;   binary(op, n, a, b, y)            y = a op b (0 +, 1 −, 2 ·)
;; with the semantics of nn.Kernels (core/nn/kernels.go). scratch must hold
;; ScratchFloats (simd.go) float32 values.
;;
;; Numerics: gemm and dw3x3 add the products in the same order as the plain
;; reference loops (C or the bias first, then k or the taps in order) and
;; WebAssembly never fuses a multiply and an add, so their results are
;; bit-identical to those loops (up to the sign of zero). dw3x3grad sums in
;; a different order than the scatter loop (float32 rounding differs).
(module
  (import "env" "mem" (memory 1))

  (func (export "abi") (result i32) (i32.const 2))

  ;; ---------------------------------------------------------------------
  ;; GEMM: column strips of 8 (then 4, then 1) columns of C; in each strip,
  ;; tiles of 4 rows (then 1). A tile keeps its C values in registers over
  ;; the whole k loop: per k, two vectors of B, four splatted values of A,
  ;; eight multiply-adds. The strip of B (k×8 floats) stays in L1 cache
  ;; while every row tile of A runs over it.
  (func (export "gemm")
    (param $m i32) (param $n i32) (param $k i32)
    (param $a i32) (param $b i32) (param $c i32) (param $acc i32)
    (local $j i32) (local $i i32) (local $ns i32) (local $ks i32)
    (local $ap i32) (local $cp i32) (local $bp i32)
    (local.set $ns (i32.shl (local.get $n) (i32.const 2)))
    (local.set $ks (i32.shl (local.get $k) (i32.const 2)))
    ;; 8-column strips
    (block $done8
      (loop $cols8
        (br_if $done8 (i32.gt_s (i32.add (local.get $j) (i32.const 8)) (local.get $n)))
        (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $i (i32.const 0))
        (local.set $ap (local.get $a))
        (local.set $cp (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
        (block $rows4done
          (loop $rows4
            (br_if $rows4done (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
            (call $tile4x8 (local.get $ns) (local.get $ks) (local.get $k) (local.get $ap) (local.get $bp) (local.get $cp) (local.get $acc))
            (local.set $ap (i32.add (local.get $ap) (i32.shl (local.get $ks) (i32.const 2))))
            (local.set $cp (i32.add (local.get $cp) (i32.shl (local.get $ns) (i32.const 2))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $rows4)))
        (block $rows1done
          (loop $rows1
            (br_if $rows1done (i32.ge_s (local.get $i) (local.get $m)))
            (call $tile1x8 (local.get $ns) (local.get $k) (local.get $ap) (local.get $bp) (local.get $cp) (local.get $acc))
            (local.set $ap (i32.add (local.get $ap) (local.get $ks)))
            (local.set $cp (i32.add (local.get $cp) (local.get $ns)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rows1)))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $cols8)))
    ;; one 4-column strip
    (if (i32.le_s (i32.add (local.get $j) (i32.const 4)) (local.get $n))
      (then
        (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $i (i32.const 0))
        (local.set $ap (local.get $a))
        (local.set $cp (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
        (block $r4done
          (loop $r4
            (br_if $r4done (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
            (call $tile4x4 (local.get $ns) (local.get $ks) (local.get $k) (local.get $ap) (local.get $bp) (local.get $cp) (local.get $acc))
            (local.set $ap (i32.add (local.get $ap) (i32.shl (local.get $ks) (i32.const 2))))
            (local.set $cp (i32.add (local.get $cp) (i32.shl (local.get $ns) (i32.const 2))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $r4)))
        (block $r1done
          (loop $r1
            (br_if $r1done (i32.ge_s (local.get $i) (local.get $m)))
            (call $tile1x4 (local.get $ns) (local.get $k) (local.get $ap) (local.get $bp) (local.get $cp) (local.get $acc))
            (local.set $ap (i32.add (local.get $ap) (local.get $ks)))
            (local.set $cp (i32.add (local.get $cp) (local.get $ns)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $r1)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))))
    ;; the last 0–3 columns, one at a time
    (block $done1
      (loop $cols1
        (br_if $done1 (i32.ge_s (local.get $j) (local.get $n)))
        (call $col1 (local.get $m) (local.get $ns) (local.get $k) (local.get $a)
          (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
          (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2)))
          (local.get $acc))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $cols1))))

  ;; C[0..4)[0..8) (+)= A[0..4)[0..k)·B[0..k)[0..8); ns, ks: row strides
  ;; of B/C and A in bytes. Requires k ≥ 0.
  (func $tile4x8
    (param $ns i32) (param $ks i32) (param $k i32)
    (param $ap i32) (param $bp i32) (param $cp i32) (param $acc i32)
    (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $bend i32)
    (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $a1 (i32.add (local.get $ap) (local.get $ks)))
    (local.set $a2 (i32.add (local.get $a1) (local.get $ks)))
    (local.set $a3 (i32.add (local.get $a2) (local.get $ks)))
    (local.set $c1 (i32.add (local.get $cp) (local.get $ns)))
    (local.set $c2 (i32.add (local.get $c1) (local.get $ns)))
    (local.set $c3 (i32.add (local.get $c2) (local.get $ns)))
    (if (local.get $acc)
      (then
        (local.set $s00 (v128.load (local.get $cp)))
        (local.set $s01 (v128.load offset=16 (local.get $cp)))
        (local.set $s10 (v128.load (local.get $c1)))
        (local.set $s11 (v128.load offset=16 (local.get $c1)))
        (local.set $s20 (v128.load (local.get $c2)))
        (local.set $s21 (v128.load offset=16 (local.get $c2)))
        (local.set $s30 (v128.load (local.get $c3)))
        (local.set $s31 (v128.load offset=16 (local.get $c3)))))
    (local.set $bend (i32.add (local.get $bp) (i32.mul (local.get $k) (local.get $ns))))
    (block $done
      (loop $kk
        (br_if $done (i32.eq (local.get $bp) (local.get $bend)))
        (local.set $b0 (v128.load (local.get $bp)))
        (local.set $b1 (v128.load offset=16 (local.get $bp)))
        (local.set $x (v128.load32_splat (local.get $ap)))
        (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (v128.load32_splat (local.get $a1)))
        (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $s11 (f32x4.add (local.get $s11) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (v128.load32_splat (local.get $a2)))
        (local.set $s20 (f32x4.add (local.get $s20) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $s21 (f32x4.add (local.get $s21) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (v128.load32_splat (local.get $a3)))
        (local.set $s30 (f32x4.add (local.get $s30) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $s31 (f32x4.add (local.get $s31) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
        (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
        (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
        (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
        (local.set $bp (i32.add (local.get $bp) (local.get $ns)))
        (br $kk)))
    (v128.store (local.get $cp) (local.get $s00))
    (v128.store offset=16 (local.get $cp) (local.get $s01))
    (v128.store (local.get $c1) (local.get $s10))
    (v128.store offset=16 (local.get $c1) (local.get $s11))
    (v128.store (local.get $c2) (local.get $s20))
    (v128.store offset=16 (local.get $c2) (local.get $s21))
    (v128.store (local.get $c3) (local.get $s30))
    (v128.store offset=16 (local.get $c3) (local.get $s31)))

  ;; C[0][0..8) (+)= A[0][0..k)·B[0..k)[0..8).
  (func $tile1x8
    (param $ns i32) (param $k i32) (param $ap i32) (param $bp i32) (param $cp i32) (param $acc i32)
    (local $bend i32) (local $x v128) (local $s0 v128) (local $s1 v128)
    (if (local.get $acc)
      (then
        (local.set $s0 (v128.load (local.get $cp)))
        (local.set $s1 (v128.load offset=16 (local.get $cp)))))
    (local.set $bend (i32.add (local.get $bp) (i32.mul (local.get $k) (local.get $ns))))
    (block $done
      (loop $kk
        (br_if $done (i32.eq (local.get $bp) (local.get $bend)))
        (local.set $x (v128.load32_splat (local.get $ap)))
        (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $x) (v128.load (local.get $bp)))))
        (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $bp)))))
        (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
        (local.set $bp (i32.add (local.get $bp) (local.get $ns)))
        (br $kk)))
    (v128.store (local.get $cp) (local.get $s0))
    (v128.store offset=16 (local.get $cp) (local.get $s1)))

  ;; C[0..4)[0..4) (+)= A[0..4)[0..k)·B[0..k)[0..4).
  (func $tile4x4
    (param $ns i32) (param $ks i32) (param $k i32)
    (param $ap i32) (param $bp i32) (param $cp i32) (param $acc i32)
    (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $bend i32)
    (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $b0 v128) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $a1 (i32.add (local.get $ap) (local.get $ks)))
    (local.set $a2 (i32.add (local.get $a1) (local.get $ks)))
    (local.set $a3 (i32.add (local.get $a2) (local.get $ks)))
    (local.set $c1 (i32.add (local.get $cp) (local.get $ns)))
    (local.set $c2 (i32.add (local.get $c1) (local.get $ns)))
    (local.set $c3 (i32.add (local.get $c2) (local.get $ns)))
    (if (local.get $acc)
      (then
        (local.set $s0 (v128.load (local.get $cp)))
        (local.set $s1 (v128.load (local.get $c1)))
        (local.set $s2 (v128.load (local.get $c2)))
        (local.set $s3 (v128.load (local.get $c3)))))
    (local.set $bend (i32.add (local.get $bp) (i32.mul (local.get $k) (local.get $ns))))
    (block $done
      (loop $kk
        (br_if $done (i32.eq (local.get $bp) (local.get $bend)))
        (local.set $b0 (v128.load (local.get $bp)))
        (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (v128.load32_splat (local.get $ap)) (local.get $b0))))
        (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (v128.load32_splat (local.get $a1)) (local.get $b0))))
        (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (v128.load32_splat (local.get $a2)) (local.get $b0))))
        (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (v128.load32_splat (local.get $a3)) (local.get $b0))))
        (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
        (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
        (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
        (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
        (local.set $bp (i32.add (local.get $bp) (local.get $ns)))
        (br $kk)))
    (v128.store (local.get $cp) (local.get $s0))
    (v128.store (local.get $c1) (local.get $s1))
    (v128.store (local.get $c2) (local.get $s2))
    (v128.store (local.get $c3) (local.get $s3)))

  ;; C[0][0..4) (+)= A[0][0..k)·B[0..k)[0..4).
  (func $tile1x4
    (param $ns i32) (param $k i32) (param $ap i32) (param $bp i32) (param $cp i32) (param $acc i32)
    (local $bend i32) (local $s0 v128)
    (if (local.get $acc) (then (local.set $s0 (v128.load (local.get $cp)))))
    (local.set $bend (i32.add (local.get $bp) (i32.mul (local.get $k) (local.get $ns))))
    (block $done
      (loop $kk
        (br_if $done (i32.eq (local.get $bp) (local.get $bend)))
        (local.set $s0 (f32x4.add (local.get $s0)
          (f32x4.mul (v128.load32_splat (local.get $ap)) (v128.load (local.get $bp)))))
        (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
        (local.set $bp (i32.add (local.get $bp) (local.get $ns)))
        (br $kk)))
    (v128.store (local.get $cp) (local.get $s0)))

  ;; One column of C: C[i][0] (+)= Σ_p A[i][p]·B[p][0] for i < m.
  (func $col1
    (param $m i32) (param $ns i32) (param $k i32) (param $a i32) (param $b i32) (param $c i32) (param $acc i32)
    (local $i i32) (local $p i32) (local $bp i32) (local $s f32)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $s (f32.const 0))
        (if (local.get $acc) (then (local.set $s (f32.load (local.get $c)))))
        (local.set $bp (local.get $b))
        (local.set $p (i32.const 0))
        (block $kdone
          (loop $kk
            (br_if $kdone (i32.ge_s (local.get $p) (local.get $k)))
            (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $a)) (f32.load (local.get $bp)))))
            (local.set $a (i32.add (local.get $a) (i32.const 4)))
            (local.set $bp (i32.add (local.get $bp) (local.get $ns)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $kk)))
        (f32.store (local.get $c) (local.get $s))
        (local.set $c (i32.add (local.get $c) (local.get $ns)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; ---------------------------------------------------------------------
  ;; Depthwise 3×3. Each input plane is first copied into a zero-padded
  ;; plane P in scratch, PH×PW with PH = (oh−1)·sh + 3 and
  ;; PW = (ow−1)·sw + 4 (one spare zero column for the stride-2 loads):
  ;; P[r][c] = x[r − pt][c − pl], 0 outside x. Then
  ;; y[oy][ox] = b + Σ_ij f[i][j]·P[oy·sh + i][ox·sw + j] without any
  ;; bounds test. Strides 1 and 2 run 4 outputs per step; other strides
  ;; and the last ow mod 4 outputs of a row run one at a time.

  ;; $pad copies the h×w plane at src into P (PH×PW at dst), shifted by
  ;; (pt, pl), zero elsewhere. Pads may be negative or larger than 2.
  (func $pad
    (param $src i32) (param $h i32) (param $w i32)
    (param $dst i32) (param $ph i32) (param $pw i32) (param $pt i32) (param $pl i32)
    (local $r i32) (local $iy i32) (local $c0 i32) (local $c1 i32)
    (memory.fill (local.get $dst) (i32.const 0)
      (i32.shl (i32.mul (local.get $ph) (local.get $pw)) (i32.const 2)))
    ;; columns c in [c0, c1) hold x[·][c − pl]
    (local.set $c0 (select (local.get $pl) (i32.const 0) (i32.gt_s (local.get $pl) (i32.const 0))))
    (local.set $c1 (i32.add (local.get $w) (local.get $pl)))
    (if (i32.gt_s (local.get $c1) (local.get $pw)) (then (local.set $c1 (local.get $pw))))
    (if (i32.le_s (local.get $c1) (local.get $c0)) (then (return)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $r) (local.get $ph)))
        (local.set $iy (i32.sub (local.get $r) (local.get $pt)))
        (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $h)))
          (then
            (memory.copy
              (i32.add (local.get $dst)
                (i32.shl (i32.add (i32.mul (local.get $r) (local.get $pw)) (local.get $c0)) (i32.const 2)))
              (i32.add (local.get $src)
                (i32.shl (i32.add (i32.mul (local.get $iy) (local.get $w)) (i32.sub (local.get $c0) (local.get $pl))) (i32.const 2)))
              (i32.shl (i32.sub (local.get $c1) (local.get $c0)) (i32.const 2)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

  ;; $plane computes one output plane from a padded plane P (row stride pw
  ;; floats): y[oy][ox] = (acc ? y[oy][ox] : b) + Σ_ij f[i][j]·P[oy·sh+i][ox·sw+j],
  ;; the nine taps added in order. flip reads the filter reversed
  ;; (f[8−t]), which turns the correlation into the stride-1 gradient.
  (func $plane
    (param $p i32) (param $pw i32) (param $f i32) (param $flip i32) (param $b f32)
    (param $y i32) (param $oh i32) (param $ow i32) (param $sh i32) (param $sw i32) (param $acc i32)
    (local $f0 f32) (local $f1 f32) (local $f2 f32) (local $f3 f32) (local $f4 f32)
    (local $f5 f32) (local $f6 f32) (local $f7 f32) (local $f8 f32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $v4 v128)
    (local $v5 v128) (local $v6 v128) (local $v7 v128) (local $v8 v128)
    (local $oy i32) (local $ox i32) (local $ow4 i32) (local $r0 i32) (local $r1 i32) (local $r2 i32)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $yp i32) (local $rs i32)
    (local $s v128) (local $e v128) (local $o v128) (local $t f32)
    (if (local.get $flip)
      (then
        (local.set $f0 (f32.load offset=32 (local.get $f)))
        (local.set $f1 (f32.load offset=28 (local.get $f)))
        (local.set $f2 (f32.load offset=24 (local.get $f)))
        (local.set $f3 (f32.load offset=20 (local.get $f)))
        (local.set $f4 (f32.load offset=16 (local.get $f)))
        (local.set $f5 (f32.load offset=12 (local.get $f)))
        (local.set $f6 (f32.load offset=8 (local.get $f)))
        (local.set $f7 (f32.load offset=4 (local.get $f)))
        (local.set $f8 (f32.load (local.get $f))))
      (else
        (local.set $f0 (f32.load (local.get $f)))
        (local.set $f1 (f32.load offset=4 (local.get $f)))
        (local.set $f2 (f32.load offset=8 (local.get $f)))
        (local.set $f3 (f32.load offset=12 (local.get $f)))
        (local.set $f4 (f32.load offset=16 (local.get $f)))
        (local.set $f5 (f32.load offset=20 (local.get $f)))
        (local.set $f6 (f32.load offset=24 (local.get $f)))
        (local.set $f7 (f32.load offset=28 (local.get $f)))
        (local.set $f8 (f32.load offset=32 (local.get $f)))))
    (local.set $v0 (f32x4.splat (local.get $f0)))
    (local.set $v1 (f32x4.splat (local.get $f1)))
    (local.set $v2 (f32x4.splat (local.get $f2)))
    (local.set $v3 (f32x4.splat (local.get $f3)))
    (local.set $v4 (f32x4.splat (local.get $f4)))
    (local.set $v5 (f32x4.splat (local.get $f5)))
    (local.set $v6 (f32x4.splat (local.get $f6)))
    (local.set $v7 (f32x4.splat (local.get $f7)))
    (local.set $v8 (f32x4.splat (local.get $f8)))
    (local.set $rs (i32.shl (local.get $pw) (i32.const 2)))
    (local.set $ow4 (i32.const 0))
    (if (i32.and (i32.ge_s (local.get $sw) (i32.const 1)) (i32.le_s (local.get $sw) (i32.const 2)))
      (then (local.set $ow4 (i32.and (local.get $ow) (i32.const -4)))))
    (local.set $yp (local.get $y))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $oy) (local.get $oh)))
        (local.set $r0 (i32.add (local.get $p)
          (i32.mul (i32.mul (local.get $oy) (local.get $sh)) (local.get $rs))))
        (local.set $r1 (i32.add (local.get $r0) (local.get $rs)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $rs)))
        (local.set $ox (i32.const 0))
        (if (i32.eq (local.get $sw) (i32.const 1))
          (then
            ;; stride 1: three unaligned loads per input row
            (block $v1done
              (loop $v1loop
                (br_if $v1done (i32.ge_s (local.get $ox) (local.get $ow4)))
                (local.set $q0 (i32.add (local.get $r0) (i32.shl (local.get $ox) (i32.const 2))))
                (local.set $q1 (i32.add (local.get $r1) (i32.shl (local.get $ox) (i32.const 2))))
                (local.set $q2 (i32.add (local.get $r2) (i32.shl (local.get $ox) (i32.const 2))))
                (if (local.get $acc)
                  (then (local.set $s (v128.load (local.get $yp))))
                  (else (local.set $s (f32x4.splat (local.get $b)))))
                (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v0) (v128.load (local.get $q0)))))
                (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v1) (v128.load offset=4 (local.get $q0)))))
                (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v2) (v128.load offset=8 (local.get $q0)))))
                (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v3) (v128.load (local.get $q1)))))
                (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v4) (v128.load offset=4 (local.get $q1)))))
                (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v5) (v128.load offset=8 (local.get $q1)))))
                (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v6) (v128.load (local.get $q2)))))
                (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v7) (v128.load offset=4 (local.get $q2)))))
                (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v8) (v128.load offset=8 (local.get $q2)))))
                (v128.store (local.get $yp) (local.get $s))
                (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                (br $v1loop))))
          (else
            (if (i32.eq (local.get $sw) (i32.const 2))
              (then
                ;; stride 2: inputs 2ox+{0,2,4,6} (even lanes of two
                ;; vectors), 2ox+{1,3,5,7} (odd lanes), 2ox+{2,4,6,8}
                ;; (even lanes of two vectors loaded 2 floats later)
                (block $v2done
                  (loop $v2loop
                    (br_if $v2done (i32.ge_s (local.get $ox) (local.get $ow4)))
                    (local.set $q0 (i32.add (local.get $r0) (i32.shl (local.get $ox) (i32.const 3))))
                    (local.set $q1 (i32.add (local.get $r1) (i32.shl (local.get $ox) (i32.const 3))))
                    (local.set $q2 (i32.add (local.get $r2) (i32.shl (local.get $ox) (i32.const 3))))
                    (if (local.get $acc)
                      (then (local.set $s (v128.load (local.get $yp))))
                      (else (local.set $s (f32x4.splat (local.get $b)))))
                    ;; row 0
                    (local.set $e (v128.load (local.get $q0)))
                    (local.set $o (v128.load offset=16 (local.get $q0)))
                    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v0)
                      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $e) (local.get $o)))))
                    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v1)
                      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $e) (local.get $o)))))
                    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v2)
                      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                        (v128.load offset=8 (local.get $q0)) (v128.load offset=24 (local.get $q0))))))
                    ;; row 1
                    (local.set $e (v128.load (local.get $q1)))
                    (local.set $o (v128.load offset=16 (local.get $q1)))
                    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v3)
                      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $e) (local.get $o)))))
                    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v4)
                      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $e) (local.get $o)))))
                    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v5)
                      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                        (v128.load offset=8 (local.get $q1)) (v128.load offset=24 (local.get $q1))))))
                    ;; row 2
                    (local.set $e (v128.load (local.get $q2)))
                    (local.set $o (v128.load offset=16 (local.get $q2)))
                    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v6)
                      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $e) (local.get $o)))))
                    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v7)
                      (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $e) (local.get $o)))))
                    (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $v8)
                      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                        (v128.load offset=8 (local.get $q2)) (v128.load offset=24 (local.get $q2))))))
                    (v128.store (local.get $yp) (local.get $s))
                    (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
                    (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                    (br $v2loop)))))))
        ;; the rest of the row, one output at a time (any stride)
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_s (local.get $ox) (local.get $ow)))
            (local.set $q0 (i32.add (local.get $r0)
              (i32.shl (i32.mul (local.get $ox) (local.get $sw)) (i32.const 2))))
            (local.set $q1 (i32.add (local.get $q0) (local.get $rs)))
            (local.set $q2 (i32.add (local.get $q1) (local.get $rs)))
            (if (local.get $acc)
              (then (local.set $t (f32.load (local.get $yp))))
              (else (local.set $t (local.get $b))))
            (local.set $t (f32.add (local.get $t) (f32.mul (local.get $f0) (f32.load (local.get $q0)))))
            (local.set $t (f32.add (local.get $t) (f32.mul (local.get $f1) (f32.load offset=4 (local.get $q0)))))
            (local.set $t (f32.add (local.get $t) (f32.mul (local.get $f2) (f32.load offset=8 (local.get $q0)))))
            (local.set $t (f32.add (local.get $t) (f32.mul (local.get $f3) (f32.load (local.get $q1)))))
            (local.set $t (f32.add (local.get $t) (f32.mul (local.get $f4) (f32.load offset=4 (local.get $q1)))))
            (local.set $t (f32.add (local.get $t) (f32.mul (local.get $f5) (f32.load offset=8 (local.get $q1)))))
            (local.set $t (f32.add (local.get $t) (f32.mul (local.get $f6) (f32.load (local.get $q2)))))
            (local.set $t (f32.add (local.get $t) (f32.mul (local.get $f7) (f32.load offset=4 (local.get $q2)))))
            (local.set $t (f32.add (local.get $t) (f32.mul (local.get $f8) (f32.load offset=8 (local.get $q2)))))
            (f32.store (local.get $yp) (local.get $t))
            (local.set $yp (i32.add (local.get $yp) (i32.const 4)))
            (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
            (br $sloop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $rows))))

  (func (export "dw3x3")
    (param $planes i32) (param $mult i32) (param $h i32) (param $w i32) (param $oh i32) (param $ow i32)
    (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32)
    (param $x i32) (param $f i32) (param $bias i32) (param $hasBias i32) (param $y i32) (param $scratch i32)
    (local $p i32) (local $ph i32) (local $pw i32) (local $b f32) (local $xs i32) (local $ys i32) (local $xp i32)
    (local.set $ph (i32.add (i32.mul (i32.sub (local.get $oh) (i32.const 1)) (local.get $sh)) (i32.const 3)))
    (local.set $pw (i32.add (i32.mul (i32.sub (local.get $ow) (i32.const 1)) (local.get $sw)) (i32.const 4)))
    (local.set $xs (i32.shl (i32.mul (local.get $h) (local.get $w)) (i32.const 2)))
    (local.set $ys (i32.shl (i32.mul (local.get $oh) (local.get $ow)) (i32.const 2)))
    (local.set $xp (local.get $x))
    (block $done
      (loop $planes
        (br_if $done (i32.ge_s (local.get $p) (local.get $planes)))
        (if (i32.eqz (i32.rem_s (local.get $p) (local.get $mult)))
          (then
            (call $pad (local.get $xp) (local.get $h) (local.get $w) (local.get $scratch)
              (local.get $ph) (local.get $pw) (local.get $pt) (local.get $pl))
            (local.set $xp (i32.add (local.get $xp) (local.get $xs)))))
        (local.set $b (f32.const 0))
        (if (local.get $hasBias)
          (then (local.set $b (f32.load (i32.add (local.get $bias) (i32.shl (local.get $p) (i32.const 2)))))))
        (call $plane (local.get $scratch) (local.get $pw)
          (i32.add (local.get $f) (i32.mul (local.get $p) (i32.const 36))) (i32.const 0) (local.get $b)
          (local.get $y) (local.get $oh) (local.get $ow) (local.get $sh) (local.get $sw) (i32.const 0))
        (local.set $y (i32.add (local.get $y) (local.get $ys)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $planes))))

  ;; ---------------------------------------------------------------------
  ;; Depthwise 3×3 gradient with respect to x.
  ;; Stride 1: gx[q] += the correlation of gy[p] (padded by 2−pt, 2−pl)
  ;; with the reversed filter: $pad + $plane with flip and acc.
  ;; Other strides: the products are scattered into a zeroed padded plane
  ;; G (PH×PW, the forward's P geometry): G[oy·sh+i][ox·sw+j] +=
  ;; f[i][j]·gy[oy][ox] for the Mult planes of one input plane, then
  ;; gx[iy][ix] += G[iy+pt][ix+pl] where that is inside G.
  (func (export "dw3x3grad")
    (param $planes i32) (param $mult i32) (param $h i32) (param $w i32) (param $oh i32) (param $ow i32)
    (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32)
    (param $f i32) (param $gy i32) (param $gx i32) (param $scratch i32)
    (local $p i32) (local $ph i32) (local $pw i32) (local $xs i32) (local $ys i32) (local $gxp i32) (local $r i32)
    (local.set $xs (i32.shl (i32.mul (local.get $h) (local.get $w)) (i32.const 2)))
    (local.set $ys (i32.shl (i32.mul (local.get $oh) (local.get $ow)) (i32.const 2)))
    (local.set $gxp (local.get $gx))
    (if (i32.and (i32.eq (local.get $sh) (i32.const 1)) (i32.eq (local.get $sw) (i32.const 1)))
      (then
        ;; the "forward" here maps gy (oh×ow) to gx (h×w) with stride 1
        (local.set $ph (i32.add (local.get $h) (i32.const 2)))
        (local.set $pw (i32.add (local.get $w) (i32.const 3)))
        (block $done
          (loop $planes
            (br_if $done (i32.ge_s (local.get $p) (local.get $planes)))
            (call $pad (local.get $gy) (local.get $oh) (local.get $ow) (local.get $scratch)
              (local.get $ph) (local.get $pw)
              (i32.sub (i32.const 2) (local.get $pt)) (i32.sub (i32.const 2) (local.get $pl)))
            (call $plane (local.get $scratch) (local.get $pw)
              (i32.add (local.get $f) (i32.mul (local.get $p) (i32.const 36))) (i32.const 1) (f32.const 0)
              (local.get $gxp) (local.get $h) (local.get $w) (i32.const 1) (i32.const 1) (i32.const 1))
            (local.set $gy (i32.add (local.get $gy) (local.get $ys)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (if (i32.eqz (i32.rem_s (local.get $p) (local.get $mult)))
              (then (local.set $gxp (i32.add (local.get $gxp) (local.get $xs)))))
            (br $planes)))
        (return)))
    (local.set $ph (i32.add (i32.mul (i32.sub (local.get $oh) (i32.const 1)) (local.get $sh)) (i32.const 3)))
    (local.set $pw (i32.add (i32.mul (i32.sub (local.get $ow) (i32.const 1)) (local.get $sw)) (i32.const 4)))
    (block $done2
      (loop $planes2
        (br_if $done2 (i32.ge_s (local.get $p) (local.get $planes)))
        (if (i32.eqz (i32.rem_s (local.get $p) (local.get $mult)))
          (then
            (memory.fill (local.get $scratch) (i32.const 0)
              (i32.shl (i32.mul (local.get $ph) (local.get $pw)) (i32.const 2)))))
        (call $scatter (local.get $scratch) (local.get $pw)
          (i32.add (local.get $f) (i32.mul (local.get $p) (i32.const 36)))
          (local.get $gy) (local.get $oh) (local.get $ow) (local.get $sh) (local.get $sw))
        (local.set $gy (i32.add (local.get $gy) (local.get $ys)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (if (i32.eqz (i32.rem_s (local.get $p) (local.get $mult)))
          (then
            (call $addWindow (local.get $scratch) (local.get $ph) (local.get $pw)
              (local.get $gxp) (local.get $h) (local.get $w) (local.get $pt) (local.get $pl))
            (local.set $gxp (i32.add (local.get $gxp) (local.get $xs)))))
        (br $planes2))))

  ;; G[oy·sh+i][ox·sw+j] += f[i][j]·gy[oy][ox] (G: row stride pw floats).
  ;; Stride 2 runs 4 outputs per step without overlapping stores: for
  ;; gy values g0..g3 of one row and taps a, b, c of one filter row, G's
  ;; eight slots from 2ox get [a·g0 + c·g−1, b·g0, a·g1 + c·g0, b·g1, …]
  ;; where c·g−1 is carried over from the previous step.
  (func $scatter
    (param $g i32) (param $pw i32) (param $f i32) (param $gy i32)
    (param $oh i32) (param $ow i32) (param $sh i32) (param $sw i32)
    (local $oy i32) (local $ox i32) (local $i i32) (local $ow4 i32) (local $rs i32)
    (local $row i32) (local $gp i32) (local $fp i32) (local $q i32)
    (local $fa f32) (local $fb f32) (local $fc f32) (local $va v128) (local $vb v128) (local $vc v128)
    (local $v v128) (local $t0 v128) (local $t1 v128) (local $cc v128) (local $pc v128) (local $gv f32)
    (local.set $rs (i32.shl (local.get $pw) (i32.const 2)))
    (if (i32.eq (local.get $sw) (i32.const 2))
      (then (local.set $ow4 (i32.and (local.get $ow) (i32.const -4)))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $oy) (local.get $oh)))
        (local.set $i (i32.const 0))
        (block $tdone
          (loop $taps
            (br_if $tdone (i32.ge_s (local.get $i) (i32.const 3)))
            (local.set $fp (i32.add (local.get $f) (i32.mul (local.get $i) (i32.const 12))))
            (local.set $fa (f32.load (local.get $fp)))
            (local.set $fb (f32.load offset=4 (local.get $fp)))
            (local.set $fc (f32.load offset=8 (local.get $fp)))
            (local.set $va (f32x4.splat (local.get $fa)))
            (local.set $vb (f32x4.splat (local.get $fb)))
            (local.set $vc (f32x4.splat (local.get $fc)))
            (local.set $row (i32.add (local.get $g)
              (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $sh)) (local.get $i)) (local.get $rs))))
            (local.set $gp (local.get $gy))
            (local.set $ox (i32.const 0))
            (local.set $pc (v128.const i32x4 0 0 0 0))
            (block $vdone
              (loop $vloop
                (br_if $vdone (i32.ge_s (local.get $ox) (local.get $ow4)))
                (local.set $v (v128.load (local.get $gp)))
                (local.set $q (i32.add (local.get $row) (i32.shl (local.get $ox) (i32.const 3))))
                (local.set $cc (f32x4.mul (local.get $vc) (local.get $v)))
                ;; even slots: a·g_k + c·g_{k−1}; odd slots: b·g_k
                (local.set $t0 (f32x4.add (f32x4.mul (local.get $va) (local.get $v))
                  (i8x16.shuffle 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 (local.get $pc) (local.get $cc))))
                (local.set $t1 (f32x4.mul (local.get $vb) (local.get $v)))
                (local.set $pc (local.get $cc))
                (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q))
                  (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $t0) (local.get $t1))))
                (v128.store offset=16 (local.get $q) (f32x4.add (v128.load offset=16 (local.get $q))
                  (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $t0) (local.get $t1))))
                (local.set $gp (i32.add (local.get $gp) (i32.const 16)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                (br $vloop)))
            ;; the carry c·g_{ow4−1} goes to slot 2·ow4
            (if (i32.gt_s (local.get $ow4) (i32.const 0))
              (then
                (local.set $q (i32.add (local.get $row) (i32.shl (local.get $ow4) (i32.const 3))))
                (f32.store (local.get $q) (f32.add (f32.load (local.get $q)) (f32x4.extract_lane 3 (local.get $pc))))))
            (block $sdone
              (loop $sloop
                (br_if $sdone (i32.ge_s (local.get $ox) (local.get $ow)))
                (local.set $gv (f32.load (local.get $gp)))
                (local.set $q (i32.add (local.get $row)
                  (i32.shl (i32.mul (local.get $ox) (local.get $sw)) (i32.const 2))))
                (f32.store (local.get $q) (f32.add (f32.load (local.get $q)) (f32.mul (local.get $fa) (local.get $gv))))
                (f32.store offset=4 (local.get $q) (f32.add (f32.load offset=4 (local.get $q)) (f32.mul (local.get $fb) (local.get $gv))))
                (f32.store offset=8 (local.get $q) (f32.add (f32.load offset=8 (local.get $q)) (f32.mul (local.get $fc) (local.get $gv))))
                (local.set $gp (i32.add (local.get $gp) (i32.const 4)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $sloop)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $taps)))
        (local.set $gy (i32.add (local.get $gy) (i32.shl (local.get $ow) (i32.const 2))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $rows))))


  ;; gx[iy][ix] += G[iy+pt][ix+pl] for the positions inside both (G: ph×pw).
  (func $addWindow
    (param $g i32) (param $ph i32) (param $pw i32) (param $gx i32) (param $h i32) (param $w i32)
    (param $pt i32) (param $pl i32)
    (local $iy i32) (local $iy1 i32) (local $ix0 i32) (local $ix1 i32) (local $n i32)
    (local $src i32) (local $dst i32) (local $end i32) (local $end4 i32)
    ;; iy in [max(0, −pt), min(h, ph−pt)), ix in [max(0, −pl), min(w, pw−pl))
    (local.set $iy (select (i32.sub (i32.const 0) (local.get $pt)) (i32.const 0) (i32.lt_s (local.get $pt) (i32.const 0))))
    (local.set $iy1 (i32.sub (local.get $ph) (local.get $pt)))
    (if (i32.gt_s (local.get $iy1) (local.get $h)) (then (local.set $iy1 (local.get $h))))
    (local.set $ix0 (select (i32.sub (i32.const 0) (local.get $pl)) (i32.const 0) (i32.lt_s (local.get $pl) (i32.const 0))))
    (local.set $ix1 (i32.sub (local.get $pw) (local.get $pl)))
    (if (i32.gt_s (local.get $ix1) (local.get $w)) (then (local.set $ix1 (local.get $w))))
    (local.set $n (i32.sub (local.get $ix1) (local.get $ix0)))
    (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $iy) (local.get $iy1)))
        (local.set $dst (i32.add (local.get $gx)
          (i32.shl (i32.add (i32.mul (local.get $iy) (local.get $w)) (local.get $ix0)) (i32.const 2))))
        (local.set $src (i32.add (local.get $g)
          (i32.shl (i32.add (i32.mul (i32.add (local.get $iy) (local.get $pt)) (local.get $pw))
                            (i32.add (local.get $ix0) (local.get $pl))) (i32.const 2))))
        (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $end4 (i32.add (local.get $dst) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $dst) (local.get $end4)))
            (v128.store (local.get $dst) (f32x4.add (v128.load (local.get $dst)) (v128.load (local.get $src))))
            (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
            (local.set $src (i32.add (local.get $src) (i32.const 16)))
            (br $vloop)))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $dst) (local.get $end)))
            (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src))))
            (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (br $sloop)))
        (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
        (br $rows))))

  ;; ---------------------------------------------------------------------
  ;; Elementwise passes (nn.Kernels SetRows, Relu, Binary): 4 lanes at a
  ;; time, then a scalar tail. In freshly loaded WebAssembly these loops
  ;; are the bulk of a forward pass when written in Go.

  ;; setrows: y[r·n + i] = v[r] for r < rows, i < n.
  (func (export "setrows") (param $rows i32) (param $n i32) (param $v i32) (param $y i32)
    (local $r i32) (local $x f32) (local $vx v128) (local $end i32) (local $end4 i32)
    (block $done
      (loop $rowl
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $x (f32.load (i32.add (local.get $v) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $vx (f32x4.splat (local.get $x)))
        (local.set $end (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $end4 (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $y) (local.get $end4)))
            (v128.store (local.get $y) (local.get $vx))
            (local.set $y (i32.add (local.get $y) (i32.const 16)))
            (br $vloop)))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $y) (local.get $end)))
            (f32.store (local.get $y) (local.get $x))
            (local.set $y (i32.add (local.get $y) (i32.const 4)))
            (br $sloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowl))))

  ;; relu: y[i] = max(x[i], 0) on the bits, as nn's reluBits: every bit is
  ;; cleared when the sign bit is set (negatives and −0 become +0) unless
  ;; the value is a NaN (magnitude bits above the infinity's), which stays.
  (func (export "relu") (param $n i32) (param $x i32) (param $y i32)
    (local $end i32) (local $end4 i32) (local $v v128) (local $u i32)
    (local.set $end (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $y) (local.get $end4)))
        (local.set $v (v128.load (local.get $x)))
        (v128.store (local.get $y)
          (v128.andnot (local.get $v)
            (v128.andnot
              (i32x4.shr_s (local.get $v) (i32.const 31))
              (i32x4.gt_u (v128.and (local.get $v) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
                          (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000)))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $y) (local.get $end)))
        (local.set $u (i32.load (local.get $x)))
        (i32.store (local.get $y)
          (i32.and (local.get $u)
            (i32.xor (i32.const -1)
              (i32.and (i32.shr_s (local.get $u) (i32.const 31))
                (i32.xor (i32.const -1)
                  (i32.shr_s (i32.sub (i32.const 0x7f800000) (i32.and (local.get $u) (i32.const 0x7fffffff))) (i32.const 31)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (br $sloop))))

  ;; binary: y[i] = a[i] op b[i], op 0 +, 1 −, 2 ·.
  (func (export "binary") (param $op i32) (param $n i32) (param $a i32) (param $b i32) (param $y i32)
    (local $end i32) (local $end4 i32)
    (local.set $end (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $y) (local.get $end4)))
        (v128.store (local.get $y)
          (if (result v128) (i32.eqz (local.get $op))
            (then (f32x4.add (v128.load (local.get $a)) (v128.load (local.get $b))))
            (else (if (result v128) (i32.eq (local.get $op) (i32.const 1))
              (then (f32x4.sub (v128.load (local.get $a)) (v128.load (local.get $b))))
              (else (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b))))))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $y) (local.get $end)))
        (f32.store (local.get $y)
          (if (result f32) (i32.eqz (local.get $op))
            (then (f32.add (f32.load (local.get $a)) (f32.load (local.get $b))))
            (else (if (result f32) (i32.eq (local.get $op) (i32.const 1))
              (then (f32.sub (f32.load (local.get $a)) (f32.load (local.get $b))))
              (else (f32.mul (f32.load (local.get $a)) (f32.load (local.get $b))))))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.const 4)))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (br $sloop))))
)
