import json, random, math
random.seed(1)
Ts=[100,200,500,1000,2000]; kinds=["cosine","ddpm","linear","polynomial"]; scal=["minmax","standardize"]
steps=[5,10,20,50,100]; meth=["ancestral","ddim"]
runs=[]
for T in Ts:
  for k in kinds:
    for s in scal:
      for K in steps:
        for m in meth:
          base=0.02+0.05/math.log(T)*(1+kinds.index(k)*0.3)+0.1/K
          for seed in range(25):
            st="completed"
            r=random.random()
            if r<0.01: st="failed"
            elif r<0.015: st="non_finite"
            v=[base*(1+0.1*random.gauss(0,1)), base*3*(1+0.2*random.gauss(0,1)), base*4*(1+0.3*random.gauss(0,1))]
            if st!="completed": v=[None,None,None]
            runs.append(dict(id="%064x"%random.getrandbits(256),T=T,kind=k,scaling=s,steps=K,method=m,seed=seed,status=st,chamfer=v[0],sw=v[1],mmd=v[2]))
# cells
cells={}
for r in runs:
  key=(r["T"],r["kind"],r["scaling"],r["steps"],r["method"])
  cells.setdefault(key,[]).append(r)
def est(vals):
  vals=[v for v in vals if v is not None]
  n=len(vals); mu=sum(vals)/n; sd=math.sqrt(sum((v-mu)**2 for v in vals)/(n-1)); h=2.06*sd/math.sqrt(n)
  return [mu,mu-h,mu+h]
cellrows=[]
for key,rs in cells.items():
  c=dict(T=key[0],kind=key[1],scaling=key[2],steps=key[3],method=key[4])
  for m in ["chamfer","sw","mmd"]:
    c[m]=est([r[m] for r in rs])
  cellrows.append(c)
comps=[]
verdicts=["better","worse","equivalent","no detectable difference","better, size uncertain"]
for i in range(16):
  d=random.gauss(0,0.02); h=abs(random.gauss(0.01,0.005))
  comps.append(dict(name="comparison %d"%i, metric=["chamfer","sliced_wasserstein"][i%2], diff=d, lower=d-h, upper=d+h, margin=0.01, verdict=random.choice(verdicts)))
data=dict(runs=runs,cells=cellrows,comparisons=comps)
json.dump(data,open("data.json","w"))
print(len(runs),len(cellrows))
