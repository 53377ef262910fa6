import json
libs=''.join('<script>'+open(p).read()+'</script>' for p in ['vendor/vega-6.4.0/package/build/vega.min.js','vendor/vega-lite-6.5.0/package/build/vega-lite.min.js','vendor/vega-embed-7.3.0/package/build/vega-embed.min.js'])
data=open('data.json').read()
table=open('table.js').read()
app=r'''
const D=JSON.parse(document.getElementById('data').textContent);
const jobs=[];
function add(spec){const el=document.createElement('div');document.body.appendChild(el);jobs.push(vegaEmbed(el,spec,{actions:false,renderer:'canvas'}));}
add({width:900,height:400,data:{values:D.comparisons},layer:[
 {mark:{type:'rect',color:'#eee'},transform:[{calculate:'-datum.margin',as:'m0'}],encoding:{x:{field:'m0',type:'quantitative'},x2:{field:'margin'},y:{field:'name',type:'nominal'}}},
 {mark:'rule',encoding:{x:{field:'lower',type:'quantitative'},x2:{field:'upper'},y:{field:'name',type:'nominal'},color:{field:'verdict'}}},
 {mark:'point',encoding:{x:{field:'diff',type:'quantitative'},y:{field:'name',type:'nominal'},color:{field:'verdict'},tooltip:[{field:'diff'},{field:'lower'},{field:'upper'}]}},
 {mark:{type:'text',align:'left',dx:5},encoding:{x:{value:905},y:{field:'name',type:'nominal'},text:{field:'verdict'},color:{field:'verdict'}}}]});
for(const m of ['chamfer','sw','mmd']){
 const vals=D.cells.map(c=>({T:c.T,scaling:c.scaling,series:c.kind+' K='+c.steps+' '+c.method,mean:c[m][0],lo:c[m][1],hi:c[m][2]}));
 add({data:{values:vals},facet:{column:{field:'scaling'}},spec:{width:550,height:300,layer:[
  {mark:{type:'errorband'},encoding:{x:{field:'T',type:'quantitative',scale:{type:'log'}},y:{field:'lo',type:'quantitative',scale:{type:'log'}},y2:{field:'hi'},color:{field:'series'},opacity:{condition:{param:'leg',value:0.15},value:0.02}}},
  {mark:{type:'line',point:true},params:[{name:'leg',select:{type:'point',fields:['series']},bind:'legend'}],encoding:{x:{field:'T',type:'quantitative',scale:{type:'log'}},y:{field:'mean',type:'quantitative',scale:{type:'log'}},color:{field:'series'},opacity:{condition:{param:'leg',value:1},value:0.1},tooltip:[{field:'series'},{field:'T'},{field:'mean'}]}}]}});
}
const dims=['T','kindi','scalingi','steps','methodi','seed','chamfer','sw','mmd'];
const cat={kind:['cosine','ddpm','linear','polynomial'],scaling:['minmax','standardize'],method:['ancestral','ddim']};
const pv=D.runs.map(r=>({T:r.T,kindi:cat.kind.indexOf(r.kind),scalingi:cat.scaling.indexOf(r.scaling),steps:r.steps,methodi:cat.method.indexOf(r.method),seed:r.seed,chamfer:r.chamfer,sw:r.sw,mmd:r.mmd}));
add({width:1200,height:400,data:{values:pv},transform:[{window:[{op:'count',as:'index'}]},{fold:dims},{joinaggregate:[{op:'min',field:'value',as:'min'},{op:'max',field:'value',as:'max'}],groupby:['key']},{calculate:'(datum.value-datum.min)/(datum.max-datum.min)',as:'norm'}],
 params:[{name:'brush',select:{type:'interval',encodings:['y']}}],
 mark:{type:'line',opacity:0.3,strokeWidth:0.5},encoding:{x:{field:'key',type:'nominal',sort:dims},y:{field:'norm',type:'quantitative'},detail:{field:'index',type:'nominal'},color:{condition:{param:'brush',value:'steelblue'},value:'#ddd'}}});
const tdiv=document.createElement('div');document.body.appendChild(tdiv);
const table=new VTable(tdiv,D.runs,['T','kind','scaling','steps','method','seed','status','chamfer','sw','mmd']);
Promise.all(jobs).then(rs=>Promise.all(rs.map(r=>r.view.runAsync()))).then(()=>setTimeout(()=>{window.diffsweepReadyAt=performance.now();},0));
'''
html='<!doctype html><html><head><meta charset="utf-8"><title>vega proto</title></head><body>'+libs+'<script type="application/json" id="data">'+data+'</script><script>'+table+app+'</script></body></html>'
open('vega.html','w').write(html)
print(len(html))
